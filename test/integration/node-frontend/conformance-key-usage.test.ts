// ../conformance-key-usage.test.ts against the node frontend (server.frontend "node").
import '../../helpers/use-node-frontend'
import '../conformance-key-usage.test'
