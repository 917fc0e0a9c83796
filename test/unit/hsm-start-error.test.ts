/** A backend's failed start names the field of that backend: `/hsm/...` for one object, `/hsm/N/...` in a list. */
import t from 'tap'
import { ConfigError } from '../../src/config/load'
import { StartupError } from '../../src/runtime/exit'
import { hsmStartError } from '../../src/runtime/startup-checks'

t.test('configuration causes name the backend\'s field; others are startup errors under the backend', async t => {
  const pin = hsmStartError(new Error('HSM worker could not start: C_Login: CKR_PIN_INCORRECT'), '/hsm/1')
  t.type(pin, ConfigError)
  t.same((pin as ConfigError).problems, ['/hsm/1/pin: C_Login: CKR_PIN_INCORRECT'])
  const token = hsmStartError(new Error('token label "x" not found (tokens present: none)'))
  t.same((token as ConfigError).problems, ['/hsm/tokenLabel: token label "x" not found (tokens present: none)'])
  const slow = hsmStartError(new Error('HSM workers did not log in within 30000 ms'), '/hsm/0')
  t.type(slow, StartupError)
  t.equal(slow.message, '/hsm/0: HSM workers did not log in within 30000 ms')
})
