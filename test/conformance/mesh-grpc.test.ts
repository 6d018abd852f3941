/** The Gateway API mesh conformance tests of profile MESH-GRPC (GRPCRoute), ported to a standalone mesh on loopback. */
import { runConformance } from './support/run.ts';
import { GRPC_TESTS } from './cases/index.ts';

runConformance(GRPC_TESTS);
