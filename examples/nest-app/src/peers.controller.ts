import { Controller, Get } from '@nestjs/common';
import { PeerDirectory, PeersView } from './peer-directory.service';

/** `GET /peers`: this instance and the peers it currently knows. */
@Controller()
export class PeersController {
  constructor(private readonly directory: PeerDirectory) {}

  @Get('peers')
  peers(): PeersView {
    return this.directory.view();
  }
}
