import type { OptionSpec } from './types.js';

/** Options of {@link sampleConfig}. */
export interface SampleOptions {
  /** Text shown instead of a default that depends on the machine: `{ 'DEFAULT.host': '<hostname>' }`. */
  readonly sampleDefaults?: Readonly<Record<string, string>>;
  /** Column at which help text wraps. Default 70. */
  readonly width?: number;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function defaultText(spec: OptionSpec): string {
  const d = spec.default;
  if (d === undefined) return '<None>';
  if (Array.isArray(d)) return d.join(',');
  return String(d);
}

function typeText(spec: OptionSpec): string {
  const range =
    spec.min !== undefined || spec.max !== undefined
      ? ` (${spec.min !== undefined ? `${spec.exclusiveMin ? '>' : '>='} ${spec.min}` : ''}${spec.min !== undefined && spec.max !== undefined ? ', ' : ''}${spec.max !== undefined ? `<= ${spec.max}` : ''})`
      : '';
  const choices = spec.choices ? ` (one of: ${spec.choices.join(', ')})` : '';
  return `${spec.type}${range}${choices}`;
}

/**
 * A sample configuration file in oslo-config-generator's layout: every option of `specs`, grouped
 * by section (`[DEFAULT]` first, then by name), with its help, type and default, commented out.
 */
export function sampleConfig(specs: readonly OptionSpec[], options: SampleOptions = {}): string {
  const width = options.width ?? 70;
  const sections = new Map<string, OptionSpec[]>();
  for (const s of specs) {
    const list = sections.get(s.section) ?? [];
    list.push(s);
    sections.set(s.section, list);
  }
  const order = [...sections.keys()].sort((a, b) =>
    a === 'DEFAULT' ? -1 : b === 'DEFAULT' ? 1 : a.localeCompare(b),
  );
  const out: string[] = [];
  for (const section of order) {
    out.push(`[${section}]`, '');
    for (const spec of sections.get(section) ?? []) {
      const key = `${spec.section}.${spec.name}`;
      for (const line of wrap(spec.help, width)) out.push(`# ${line}`);
      out.push(`# Type: ${typeText(spec)}${spec.secret ? ' (secret: masked in logs)' : ''}`);
      for (const dep of spec.deprecatedNames ?? []) {
        const name =
          typeof dep === 'string' ? `[${spec.section}] ${dep}` : `[${dep.section}] ${dep.name}`;
        out.push(`# Deprecated name: ${name}`);
      }
      out.push(`#${spec.name} = ${options.sampleDefaults?.[key] ?? defaultText(spec)}`, '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
