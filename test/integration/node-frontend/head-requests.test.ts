// ../head-requests.test.ts against the node frontend (server.frontend "node").
import '../../helpers/use-node-frontend'
import '../head-requests.test'
