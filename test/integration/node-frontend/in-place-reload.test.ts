// ../in-place-reload.test.ts against the node frontend (server.frontend "node"): setSecureContext instead of a second listener.
import '../../helpers/use-node-frontend'
import '../in-place-reload.test'
