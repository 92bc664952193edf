import type { CodeSystem, OperationDefinition, ValueSet } from 'fhir/r4.js';
import { specsFromDefinition, type ParameterSpec } from '../fhir/parameters.js';
import { readConformanceFileSync } from './files.js';

/**
 * An operation's input parameters from its OperationDefinition in profiles/operations, with the
 * value sets its required bindings name (profiles/valuesets, and the code systems they include
 * from profiles/codesystems: every canonical URL here is <base>/<resourceType>/<id>).
 */
export function operationSpecs(profilesDir: string, operationId: string): ParameterSpec[] {
  const definition = readConformanceFileSync(
    profilesDir,
    `operations/${operationId}.json`,
  ) as unknown as OperationDefinition;
  const idOf = (url: string): string => url.split('/').pop() ?? '';
  const valueSets = (definition.parameter ?? []).flatMap((p) =>
    p.binding?.valueSet
      ? [readConformanceFileSync(profilesDir, `valuesets/${idOf(p.binding.valueSet)}.json`) as unknown as ValueSet]
      : [],
  );
  const codeSystems = valueSets.flatMap((v) =>
    (v.compose?.include ?? []).flatMap((i) =>
      i.system && !i.concept
        ? [readConformanceFileSync(profilesDir, `codesystems/${idOf(i.system)}.json`) as unknown as CodeSystem]
        : [],
    ),
  );
  return specsFromDefinition(definition, [...valueSets, ...codeSystems]);
}
