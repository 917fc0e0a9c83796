/**
 * Imported first by the files of test/integration/node-frontend/: every dev server the imported test file starts
 * then runs the node frontend (`--frontend node`), so the same cases assert the same behaviour on both frontends.
 */
process.env.XKSGATE_TEST_FRONTEND = 'node'
