/** The DataService handlers both variants of `bench-transport` serve, plain and in a Nest controller. */
import { Controller, Module } from '@nestjs/common';
import { GrpcMethod, GrpcStreamCall } from '@nestjs/microservices';
import { GetDataRequest, GetDataResponse, WriteRequest, WriteResponse } from '@sofareg/contracts';
import { grpc, serveStreamCalls } from '@sofareg/server-kit';

/** The handlers both variants share: what is measured around them is the transport. */
export const getData = (req: GetDataRequest): GetDataResponse => ({
  data: [],
  errors: [],
  slotTableEpoch: req.slotTableEpoch,
});
export const write = (req: WriteRequest): WriteResponse => ({
  results: [],
  slotTableEpoch: req.slotTableEpoch,
  callId: 0,
});
export const writeFailed = (_req: WriteRequest): WriteResponse => ({ results: [], slotTableEpoch: -1, callId: 0 });

@Controller()
export class DataBenchController {
  @GrpcMethod('DataService', 'GetData')
  getData(req: GetDataRequest): GetDataResponse {
    return getData(req);
  }

  @GrpcStreamCall('DataService', 'Write')
  write(call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>): void {
    serveStreamCalls(call, write, writeFailed);
  }
}

@Module({ controllers: [DataBenchController] })
export class DataBenchModule {}
