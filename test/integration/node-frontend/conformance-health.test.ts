// ../conformance-health.test.ts against the node frontend (server.frontend "node").
import '../../helpers/use-node-frontend'
import '../conformance-health.test'
