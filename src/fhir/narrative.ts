import type { Narrative } from 'fhir/r4.js';
import { escapeHtml } from '../util/html.js';

/** A block of narrative: each item is escaped text (a paragraph) or a list of escaped lines. */
export type Block = string | { list: string[] } | { table: { head: string[]; rows: string[][] } };

function render(block: Block): string {
  if (typeof block === 'string') return `<p>${escapeHtml(block)}</p>`;
  if ('list' in block)
    return block.list.length === 0 ? '' : `<ul>${block.list.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`;
  const head = `<tr>${block.table.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const rows = block.table.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead>${head}</thead><tbody>${rows}</tbody></table>`;
}

/** Generated narrative a reader without a FHIR viewer can follow. */
export function narrative(blocks: Block[]): Narrative {
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${blocks.map(render).join('')}</div>` };
}
