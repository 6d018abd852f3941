/**
 * The Gateway API mesh conformance tests of profile MESH-HTTP, ported to a standalone mesh on
 * loopback (see docs/conformance.md); MeshBasic counts for MESH-GRPC too.
 */
import { runConformance } from './support/run.ts';
import { HTTP_TESTS } from './cases/index.ts';

runConformance(HTTP_TESTS);
