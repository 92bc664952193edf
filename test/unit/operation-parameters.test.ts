import path from 'node:path';
import { repoRoot } from '../../src/config/config.js';
import { operationSpecs } from '../../src/conformance/operations.js';
import { readParameters } from '../../src/fhir/parameters.js';
import { AppError } from '../../src/outcome/errors.js';

const profiles = path.join(repoRoot, 'profiles');

describe('operations read their input parameters from their OperationDefinitions in profiles/', () => {
  it('$discharge-document: the six text inputs with their cardinality, and nothing of its output', () => {
    expect(operationSpecs(profiles, 'discharge-document')).toEqual([
      { name: 'clinicalSummary', types: ['string'], min: 0, max: 1 },
      { name: 'contact', types: ['string'], min: 0, max: 1 },
      { name: 'actionForGp', types: ['string'], min: 0, max: 20 },
      { name: 'actionForPerson', types: ['string'], min: 0, max: 20 },
      { name: 'informationGiven', types: ['string'], min: 0, max: 20 },
      { name: 'individualRequirements', types: ['string'], min: 0, max: 1 },
    ]);
  });

  it('refuses what the definition does not declare, naming the parameter', () => {
    const specs = operationSpecs(profiles, 'discharge-document');
    const read = (parameter: unknown[]): unknown => {
      try {
        return readParameters({ resourceType: 'Parameters', parameter }, specs);
      } catch (e) {
        return e instanceof AppError ? e.issues.map((i) => i.diagnostics).join('; ') : e;
      }
    };
    expect(read([{ name: 'return', valueString: 'x' }])).toMatch(/return/);
    expect(read(Array.from({ length: 21 }, () => ({ name: 'actionForGp', valueString: 'Review in 6 weeks' })))).toMatch(
      /actionForGp/,
    );
    expect(read([{ name: 'contact', valueBoolean: true }])).toMatch(/contact/);
  });
});
