import { Injectable } from '@nestjs/common';
import { DEFAULT_SWITCHES, SwitchState } from '@sofareg/session-core';

/** The switches in force (from meta's provide-data); written only by ProvideDataService. */
@Injectable()
export class SwitchBoard {
  state: SwitchState = DEFAULT_SWITCHES;
}
