/**
 * The generated parts of docs/troubleshooting.md: every error the proxy answers, with each cause and its fix
 * (from src/explain/advice.ts, which `xksgate why` reads too), and every alert of deploy/prometheus/alerts.yml with
 * what it means and what to do (its own summary and description). The rest of the page is written by hand.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { ERROR_ADVICE, errorStatus } from '../explain/advice'
import type { XksErrorName } from '../xks/errors'

const ALERTS_FILE = path.join(__dirname, '../../../deploy/prometheus/alerts.yml')

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ').trim()

export function errorsSection (): string {
  const out: string[] = []
  for (const [name, advice] of Object.entries(ERROR_ADVICE)) {
    out.push(`### ${name}`, '', `HTTP ${errorStatus(name as XksErrorName)}; ${advice.kms}.`, '',
      '| decided by | cause | what to do |', '|---|---|---|')
    for (const c of advice.causes) out.push(`| ${c.step} | ${cell(c.cause)} | ${cell(c.fix)} |`)
    out.push('')
  }
  return out.join('\n')
}

interface AlertRule { alert?: string, labels?: { severity?: string }, annotations?: { summary?: string, description?: string } }

/** Every alert rule of deploy/prometheus/alerts.yml, in file order. */
export function alertRules (): AlertRule[] {
  const doc = parse(fs.readFileSync(ALERTS_FILE, 'utf8')) as { groups: Array<{ rules: AlertRule[] }> }
  return doc.groups.flatMap(g => g.rules).filter(r => r.alert !== undefined)
}

export function alertsSection (): string {
  const out: string[] = []
  for (const rule of alertRules()) {
    // The summary's template variables read as placeholders here.
    const summary = (rule.annotations?.summary ?? '').replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, '<$1>').replace(/\{\{[^}]*\}\}/g, 'N')
    out.push(`### ${rule.alert as string}`, '', `Severity: ${rule.labels?.severity ?? 'none'}. ${summary}.`, '')
    if (rule.annotations?.description !== undefined) out.push(rule.annotations.description.trim(), '')
  }
  return out.join('\n')
}
