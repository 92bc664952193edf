import type { Narrative } from 'fhir/r4.js';

/** Text made safe for FHIR XHTML. */
export function escapeXhtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A block of narrative: each item is escaped text (a paragraph) or a list of escaped lines. */
export type Block = string | { list: string[] } | { table: { head: string[]; rows: string[][] } };

function render(block: Block): string {
  if (typeof block === 'string') return `<p>${escapeXhtml(block)}</p>`;
  if ('list' in block)
    return block.list.length === 0 ? '' : `<ul>${block.list.map((l) => `<li>${escapeXhtml(l)}</li>`).join('')}</ul>`;
  const head = `<tr>${block.table.head.map((h) => `<th>${escapeXhtml(h)}</th>`).join('')}</tr>`;
  const rows = block.table.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXhtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead>${head}</thead><tbody>${rows}</tbody></table>`;
}

/** Generated narrative a reader without a FHIR viewer can follow. */
export function narrative(blocks: Block[]): Narrative {
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${blocks.map(render).join('')}</div>` };
}
