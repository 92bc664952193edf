import type { CodeSystem, Questionnaire } from 'fhir/r4.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../src/config/config.js';
import { identifyCarers } from '../../src/domain/carers.js';
import { CARER_ASSESSMENT_OUTCOMES } from '../../src/domain/codes.js';
import type { UnpaidCarer } from '../../src/domain/model.js';
import * as qr from '../../src/fhir/questionnaireResponse.js';
import { domainError } from '../support/domainError.js';
import { fixtureNeeds } from '../support/planFixtures.js';

const ON = '2026-03-02';
const offered: UnpaidCarer = { relationship: 'my mum', assessmentOffered: true, outcome: 'declined' };
const notOffered: UnpaidCarer = { relationship: 'my son', assessmentOffered: false, notOfferedReason: 'He is 9.' };

describe('unpaid carers identified in the needs conversation', () => {
  it('keeps an offer with its outcome and date, and a carer not offered with the reason, trimmed', () => {
    expect(
      identifyCarers(
        [
          { ...offered, relationship: '  my mum ', offeredOn: ON },
          { ...notOffered, notOfferedReason: ' He is 9. ' },
        ],
        ON,
      ),
    ).toEqual([{ ...offered, offeredOn: ON }, notOffered]);
  });

  it.each([
    ['an offer without an outcome', { relationship: 'my mum', assessmentOffered: true }, '/carers/1/outcome'],
    ['an outcome without an offer', { ...notOffered, outcome: 'declined' }, '/carers/1/outcome'],
    ['an offer date without an offer', { ...notOffered, offeredOn: ON }, '/carers/1/offeredOn'],
    ['no offer and no reason', { relationship: 'my son', assessmentOffered: false }, '/carers/1/notOfferedReason'],
    ['no offer and a blank reason', { ...notOffered, notOfferedReason: '   ' }, '/carers/1/notOfferedReason'],
    ['a reason beside an offer', { ...offered, notOfferedReason: 'x' }, '/carers/1/notOfferedReason'],
    ['an offer after the conversation', { ...offered, offeredOn: '2026-03-03' }, '/carers/1/offeredOn'],
    ['a blank relationship', { ...offered, relationship: ' ' }, '/carers/1/relationship'],
  ] as [string, UnpaidCarer, string][])('refuses %s', (_label, carer, pointer) => {
    expect(domainError(() => identifyCarers([offered, carer], ON)).field).toBe(pointer);
  });
});

describe('unpaid carers in the phb-needs QuestionnaireResponse', () => {
  const needs = fixtureNeeds.find((n) => n.carers);
  if (!needs) throw new Error('no needs fixture with carers');

  it('writes one unpaid-carers group per carer and reads them back', () => {
    const resource = qr.needsToFhir(needs);
    expect(resource.item?.filter((i) => i.linkId === 'unpaid-carers')).toHaveLength(needs.carers?.length ?? -1);
    expect(qr.needsFromFhir(JSON.parse(JSON.stringify(resource)))).toEqual(needs);
  });

  it('refuses an outcome code from elsewhere, naming the group', () => {
    const resource = qr.needsToFhir(needs);
    const outcome = resource.item?.find((i) => i.linkId === 'unpaid-carers')?.item?.[3];
    if (outcome?.linkId !== 'carer-assessment-outcome') throw new Error('no outcome item');
    outcome.answer = [{ valueCoding: { system: 'https://example.org/other', code: 'declined' } }];
    expect(domainError(() => qr.needsFromFhir(resource)).field).toBe(
      "QuestionnaireResponse.item('unpaid-carers')[0].carer-assessment-outcome",
    );
  });

  it('refuses a group without the offered answer', () => {
    const resource = qr.needsToFhir(needs);
    const group = resource.item?.find((i) => i.linkId === 'unpaid-carers');
    if (!group) throw new Error('no group');
    group.item = group.item?.filter((i) => i.linkId !== 'carer-assessment-offered');
    expect(domainError(() => qr.needsFromFhir(resource)).field).toBe(
      "QuestionnaireResponse.item('unpaid-carers')[0].carer-assessment-offered",
    );
  });

  it('the outcome CodeSystem holds the domain codes in order, and the questionnaire asks from its ValueSet', async () => {
    const read = async <T>(dir: string, file: string): Promise<T> =>
      JSON.parse(await readFile(path.join(repoRoot, 'profiles', dir, file), 'utf8')) as T;
    const cs = await read<CodeSystem>('codesystems', 'carer-assessment-outcome.json');
    expect(cs.concept?.map((c) => c.code)).toEqual([...CARER_ASSESSMENT_OUTCOMES]);
    const questionnaire = await read<Questionnaire>('questionnaires', 'phb-needs.json');
    const outcome = questionnaire.item
      ?.find((i) => i.linkId === 'unpaid-carers')
      ?.item?.find((i) => i.linkId === 'carer-assessment-outcome');
    expect(outcome?.answerValueSet).toBe(cs.valueSet);
  });
});
