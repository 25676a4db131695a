// The gRPC upstream of the gRPC bench: one unary method that answers with the request's bytes.
// No .proto: messages pass as raw bytes, so the server measures transport, not protobuf.
import { Server, ServerCredentials } from '@grpc/grpc-js';

const bytes = (b) => b;
const service = {
  Unary: {
    path: '/bench.Echo/Unary',
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
};
const server = new Server();
server.addService(service, {
  Unary(call, cb) {
    cb(null, call.request);
  },
});
server.bindAsync(`127.0.0.1:${process.env.PORT}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  console.error('ready');
});
