import { status } from '@grpc/grpc-js';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { RegistryError } from '@sofareg/model';
import { GrpcFailure, toGrpcStatus } from './grpc-status';

const failure = (code: status, details: string, unexpected = false): GrpcFailure => ({ code, details, unexpected });

describe('toGrpcStatus', () => {
  it('keeps the status and message an RpcException carries', () => {
    const carried = new RpcException({ code: status.NOT_FOUND, message: 'no datum' });
    expect(toGrpcStatus(carried)).toEqual(failure(status.NOT_FOUND, 'no datum'));
    expect(toGrpcStatus(new RpcException('plain'))).toEqual(failure(status.INTERNAL, 'plain'));
  });

  it('keeps a numeric gRPC code, preferring details to message', () => {
    const serviceError = { code: status.UNAVAILABLE, details: 'draining', message: '14 UNAVAILABLE: draining' };
    expect(toGrpcStatus(serviceError)).toEqual(failure(status.UNAVAILABLE, 'draining'));
    const coded = Object.assign(new Error('late'), { code: status.DEADLINE_EXCEEDED });
    expect(toGrpcStatus(coded)).toEqual(failure(status.DEADLINE_EXCEEDED, 'late'));
  });

  it('treats a number outside the gRPC codes as no code at all', () => {
    const errno = Object.assign(new Error('errno'), { code: 99 });
    expect(toGrpcStatus(errno)).toEqual(failure(status.INTERNAL, 'errno', true));
  });

  it('answers INVALID_ARGUMENT naming the field for every kind of validation failure', () => {
    const registry = new RegistryError({ code: 'InvalidArgument', field: 'dataId', message: 'too long' });
    expect(toGrpcStatus(registry)).toEqual(failure(status.INVALID_ARGUMENT, 'dataId: too long'));
    const port = { property: 'port', constraints: { isInt: 'port must be an integer' } };
    const nested = [{ property: 'node', children: [port] }];
    expect(toGrpcStatus(nested)).toEqual(failure(status.INVALID_ARGUMENT, 'node.port: port must be an integer'));
    const pipe = new BadRequestException(['group must be a string', 'dataId should not be empty']);
    expect(toGrpcStatus(pipe)).toEqual(
      failure(status.INVALID_ARGUMENT, 'group must be a string; dataId should not be empty'),
    );
  });

  it('maps the other stable error codes by their table', () => {
    const overloaded = new RegistryError({ code: 'Overloaded', message: 'slow down' });
    expect(toGrpcStatus(overloaded)).toEqual(failure(status.RESOURCE_EXHAUSTED, 'Overloaded: slow down'));
  });

  it('answers INTERNAL with the message for anything else, flagged for logging', () => {
    expect(toGrpcStatus(new Error('boom'))).toEqual(failure(status.INTERNAL, 'boom', true));
    expect(toGrpcStatus('just a string')).toEqual(failure(status.INTERNAL, 'just a string', true));
    expect(toGrpcStatus(new NotFoundException('gone'))).toEqual(failure(status.INTERNAL, 'gone'));
  });
});
