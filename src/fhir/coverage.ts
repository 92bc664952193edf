import type { Coverage, Extension } from 'fhir/r4.js';
import {
  CALCULATION_LINE_KINDS,
  COHORTS,
  MANAGEMENT_OPTIONS,
  PHB_KINDS,
  type ManagementOption,
} from '../domain/codes.js';
import { DomainError } from '../domain/errors.js';
import type { Budget, CalculationLine, ManagementSplit } from '../domain/model.js';
import {
  codeFrom,
  coding,
  concept,
  extension,
  findExtension,
  findExtensions,
  money,
  pence,
  reference,
  referencedId,
  SYSTEMS,
} from './common.js';
import { journeyExtension, journeyFrom, part } from './extensionValues.js';
import { opt, required } from './fields.js';

/** Budget <-> Coverage (profile phb-coverage); mappings/budget.md is the table. */
export const PROFILE = SYSTEMS.profile('phb-coverage');

/** A mixed budget has no single management option code: the concept carries this text instead. */
export const MIXED = 'mixed';

const STATUSES = ['draft', 'active', 'cancelled'] as const;

export function toFhir(budget: Budget): Coverage & { id: string } {
  const extensions: Extension[] = [
    journeyExtension(budget.journeyId),
    extension('phb-cohort', { valueCodeableConcept: concept('phb-cohort', budget.cohort) }),
    extension('phb-indicative-amount', { valueMoney: money(budget.indicative) }),
  ];
  if (budget.agreed !== undefined)
    extensions.push(extension('phb-agreed-amount', { valueMoney: money(budget.agreed) }));
  if (budget.calculation !== undefined)
    extensions.push(extension('phb-budget-calculation', { valueString: budget.calculation }));
  // In the order given: the order is part of how the person reads the calculation.
  for (const line of budget.calculationLines ?? []) extensions.push(calculationLineExtension(line));
  if (budget.contingency !== undefined)
    extensions.push(extension('phb-contingency-amount', { valueMoney: money(budget.contingency) }));
  extensions.push(managementOptionExtension(budget.managementOption));
  // Written in the code system's order, so the same budget always gives the same resource.
  for (const option of MANAGEMENT_OPTIONS) {
    const amount = budget.split[option];
    if (amount === undefined) continue;
    extensions.push(
      extension('phb-management-split', {
        extension: [
          { url: 'option', valueCoding: coding('management-option', option) },
          { url: 'amount', valueMoney: money(amount) },
        ],
      }),
    );
  }
  return {
    resourceType: 'Coverage',
    id: budget.id,
    meta: { profile: [PROFILE] },
    extension: extensions,
    status: budget.status,
    type: concept('phb-kind', budget.kind),
    beneficiary: reference('Patient', budget.budgetHolderId),
    payor: [reference('Organization', budget.payorId)],
    period: { start: budget.period.start, ...opt('end', budget.period.end) },
  };
}

export function fromFhir(coverage: Coverage): Budget {
  const ext = coverage.extension;
  const status = coverage.status;
  if (!(STATUSES as readonly string[]).includes(status)) {
    throw new DomainError('Coverage.status', `Coverage.status must be one of ${STATUSES.join(', ')} (got ${status})`);
  }
  if (!coverage.period?.start) throw new DomainError('Coverage.period.start', 'Coverage.period.start is missing');
  const agreed = findExtension(ext, 'phb-agreed-amount');
  const contingency = findExtension(ext, 'phb-contingency-amount');
  const lines = findExtensions(ext, 'phb-budget-calculation-line');
  return {
    id: required(coverage.id, 'Coverage.id'),
    journeyId: journeyFrom(ext, 'Coverage'),
    budgetHolderId: referencedId(coverage.beneficiary, 'Patient', 'Coverage.beneficiary'),
    kind: codeFrom(coverage.type, 'phb-kind', PHB_KINDS, 'Coverage.type'),
    cohort: codeFrom(
      findExtension(ext, 'phb-cohort')?.valueCodeableConcept,
      'phb-cohort',
      COHORTS,
      'Coverage.extension:cohort',
    ),
    payorId: referencedId(single(coverage.payor, 'Coverage.payor'), 'Organization', 'Coverage.payor'),
    indicative: pence(findExtension(ext, 'phb-indicative-amount')?.valueMoney, 'Coverage.extension:indicativeAmount'),
    ...opt('agreed', agreed && pence(agreed.valueMoney, 'Coverage.extension:agreedAmount')),
    ...opt('calculation', findExtension(ext, 'phb-budget-calculation')?.valueString),
    ...(lines.length > 0 ? { calculationLines: lines.map(calculationLineFrom) } : {}),
    ...opt('contingency', contingency && pence(contingency.valueMoney, 'Coverage.extension:contingencyAmount')),
    managementOption: managementOptionFrom(
      findExtension(ext, 'phb-management-option'),
      'Coverage.extension:managementOption',
    ),
    split: splitFrom(findExtensions(ext, 'phb-management-split')),
    period: { start: coverage.period.start, ...opt('end', coverage.period.end) },
    status: status as Budget['status'],
  };
}

/** Shared with the plan mapper: an item may name the option it is paid through. */
export function managementOptionExtension(option: ManagementOption | typeof MIXED): Extension {
  return extension('phb-management-option', {
    valueCodeableConcept: option === MIXED ? { text: MIXED } : concept('management-option', option),
  });
}

export function managementOptionFrom(ext: Extension | undefined, field: string): ManagementOption | typeof MIXED {
  const value = ext?.valueCodeableConcept;
  if (value && !value.coding?.length && value.text === MIXED) return MIXED;
  return codeFrom(value, 'management-option', MANAGEMENT_OPTIONS, field);
}

function calculationLineExtension(line: CalculationLine): Extension {
  return extension('phb-budget-calculation-line', {
    extension: [
      { url: 'kind', valueCoding: coding('calculation-line-kind', line.kind) },
      { url: 'amount', valueMoney: money(line.amount) },
      ...(line.description !== undefined ? [{ url: 'description', valueString: line.description }] : []),
    ],
  });
}

function calculationLineFrom(entry: Extension, i: number): CalculationLine {
  const field = `Coverage.extension:calculationLine[${i}]`;
  const kindCoding = part(entry, 'kind')?.valueCoding;
  return {
    kind: codeFrom(
      kindCoding ? [kindCoding] : undefined,
      'calculation-line-kind',
      CALCULATION_LINE_KINDS,
      `${field}.kind`,
    ),
    ...opt('description', part(entry, 'description')?.valueString),
    amount: pence(part(entry, 'amount')?.valueMoney, `${field}.amount`),
  };
}

function splitFrom(entries: Extension[]): ManagementSplit {
  const split: ManagementSplit = {};
  entries.forEach((entry, i) => {
    const field = `Coverage.extension:managementSplit[${i}]`;
    const optionCoding = part(entry, 'option')?.valueCoding;
    const option = codeFrom(
      optionCoding ? [optionCoding] : undefined,
      'management-option',
      MANAGEMENT_OPTIONS,
      `${field}.option`,
    );
    if (split[option] !== undefined) throw new DomainError(field, `${field}: ${option} appears more than once`);
    split[option] = pence(part(entry, 'amount')?.valueMoney, `${field}.amount`);
  });
  return split;
}

function single<T>(values: T[] | undefined, field: string): T | undefined {
  if (values && values.length > 1) throw new DomainError(field, `${field} must hold exactly one value`);
  return values?.[0];
}
