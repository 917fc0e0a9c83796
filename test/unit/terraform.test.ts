/**
 * deploy/terraform parsed as HCL (the npm package hcl2-parser wraps HashiCorp's own HCL v2 parser): every file
 * parses, the NLB, target group, endpoint service and key store have the settings docs/operations.md promises, and every
 * variable is declared, used and listed in deploy/terraform/README.md.
 */
/* eslint-disable no-template-curly-in-string -- Terraform's interpolations, as the parser gives them, are plain strings */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { repoRoot } from '../helpers/paths'

// hcl2-parser ships its own types only for parseToString/parseToObject; the parsed tree is plain JSON.
const hcl = require('hcl2-parser') as { parseToObject: (text: string) => [Record<string, any> | null, unknown] }

const dir = path.join(repoRoot, 'deploy', 'terraform')
const files = fs.readdirSync(dir).filter(f => f.endsWith('.tf')).sort()

function parse (text: string): Record<string, any> | undefined {
  const [tree, error] = hcl.parseToObject(text)
  return error === null && tree !== null ? tree : undefined
}

const trees = Object.fromEntries(files.map(f => [f, parse(fs.readFileSync(path.join(dir, f), 'utf8'))]))
const resource = (type: string, name: string): Record<string, any> => trees['main.tf']?.resource?.[type]?.[name]?.[0] ?? {}

t.test('every .tf file parses as HCL, and a broken one does not', async t => {
  t.same(files, ['main.tf', 'outputs.tf', 'variables.tf', 'versions.tf'])
  for (const f of files) t.ok(trees[f] !== undefined, `${f} parses`)
  t.equal(parse('resource "aws_lb" "x" {\n  name = \n}\n'), undefined)
})

t.test('NLB across two or more AZs, TCP 443, IP targets checked on /readyz as docs/operations.md says', async t => {
  t.match(resource('aws_lb', 'xksgate'), { internal: true, load_balancer_type: 'network', subnets: '${var.subnet_ids}' })
  t.match(trees['variables.tf']?.variable?.subnet_ids?.[0]?.validation?.[0], { condition: '${length(var.subnet_ids) >= 2}' })
  t.match(resource('aws_lb_listener', 'tls_passthrough'), { port: 443, protocol: 'TCP' })
  const group = resource('aws_lb_target_group', 'xksgate')
  t.match(group, { target_type: 'ip', protocol: 'TCP' })
  t.same(group.health_check, [{
    protocol: 'HTTP', port: '${tostring(var.health_port)}', path: '/readyz', matcher: '200', interval: 10, timeout: 5, healthy_threshold: 2, unhealthy_threshold: 2,
  }])
  const operations = fs.readFileSync(path.join(repoRoot, 'docs/operations.md'), 'utf8')
  t.match(operations, /path\s+`\/readyz`, success codes 200, interval 10 s, healthy and unhealthy thresholds 2, timeout 5 s/, 'docs/operations.md states the same check')
})

t.test('the endpoint service admits KMS alone without acceptance; the key store connects through it', async t => {
  t.match(resource('aws_vpc_endpoint_service', 'xksgate'), {
    acceptance_required: false,
    allowed_principals: ['cks.kms.${var.region}.amazonaws.com'],
    private_dns_name: '${var.private_dns_name}',
  })
  t.match(resource('aws_kms_custom_key_store', 'xksgate'), {
    custom_key_store_type: 'EXTERNAL_KEY_STORE',
    xks_proxy_connectivity: 'VPC_ENDPOINT_SERVICE',
    xks_proxy_vpc_endpoint_service_name: '${aws_vpc_endpoint_service.xksgate.service_name}',
  })
})

t.test('every variable is declared, used, and listed in the example\'s README', async t => {
  const declared = Object.keys(trees['variables.tf']?.variable ?? {}).sort()
  const text = files.filter(f => f !== 'variables.tf').map(f => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n')
  const used = [...new Set([...text.matchAll(/\bvar\.(\w+)/g)].map(m => m[1]))].sort()
  t.same(used, declared)
  const listed = [...fs.readFileSync(path.join(dir, 'README.md'), 'utf8').matchAll(/^\| `(\w+)` \|/gm)].map(m => m[1]).sort()
  t.same(listed, declared)
})
