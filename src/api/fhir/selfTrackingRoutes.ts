import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, EpisodeOfCare, Goal, QuestionnaireResponse, ServiceRequest } from 'fhir/r4.js';
import type { Request } from 'express';
import { currentAccess } from '../../auth/guard.js';
import { localPatientOf } from '../../fhir/compartment.js';
import { patientParam, resourceIdParam } from '../../auth/compartment.js';
import { withProvenance } from '../../audit/provenance.js';
import { DomainError } from '../../domain/errors.js';
import { checkOwnGoalChange, OWN_GOAL_FIELDS } from '../../domain/goals.js';
import { scoresOf } from '../../domain/scores.js';
import { findExtension } from '../../fhir/common.js';
import { journeyExtension } from '../../fhir/extensionValues.js';
import * as goal from '../../fhir/goal.js';
import * as observation from '../../fhir/observation.js';
import { numericAnswers } from '../../fhir/questionnaire.js';
import { validateResponse } from '../../fhir/questionnaireValidation.js';
import * as serviceRequest from '../../fhir/serviceRequest.js';
import { AppError, badRequest, isStoreConflict, notFound } from '../../outcome/errors.js';
import type { FhirStore } from '../../store/fhirStore.js';
import type { ProtectedRoute } from '../route.js';
import { baseUrl, ifMatchVersion, sendResource } from './http.js';
import { catalogOf, rulesForScoring, scoredQuestionnaire } from '../questionnaires.js';
import { exampleId } from '../route.js';
import { resourcesOf } from '../../fhir/bundle.js';
import { weakEtag } from '../../util/etag.js';
import { ID_PATTERN } from '../../domain/ids.js';

/**
 * Self-tracking on /fhir: the person (or their PHR app) submits answers, and may record progress
 * on their own goals. Answers, the request they complete and the scores computed from them are
 * one transaction: all stored, or none.
 */

const unprocessable = (diagnostics: string, location?: string): AppError =>
  new AppError(422, { code: 'business-rule', diagnostics, ...(location ? { location } : {}) });

function bodyOf<T>(req: Request, type: string): T {
  const body = req.body as { resourceType?: unknown } | undefined;
  if (typeof body !== 'object' || body === null || body.resourceType !== type)
    throw badRequest(`The body must be a ${type}`, type);
  return body as T;
}

/** The patient the posted response is about (its subject), for the guard. */
function responseSubject(req: Request): string | undefined {
  const subject = (req.body as QuestionnaireResponse | undefined)?.subject?.reference;
  return subject === undefined ? undefined : patientParam(subject, 'QuestionnaireResponse.subject');
}

const REQUEST_REF = new RegExp(String.raw`^ServiceRequest/(${ID_PATTERN})$`);

/** The request the answers respond to: the one named in basedOn, else the person's oldest open request for this questionnaire. */
async function requestAnswered(
  store: FhirStore,
  response: QuestionnaireResponse,
  patientId: string,
  questionnaireId: string,
): Promise<ServiceRequest | undefined> {
  const based = response.basedOn ?? [];
  if (based.length > 1)
    throw unprocessable('basedOn names at most one questionnaire request', 'QuestionnaireResponse.basedOn');
  if (based.length === 1) {
    const id = REQUEST_REF.exec(based[0]?.reference ?? '')?.[1];
    if (id === undefined)
      throw unprocessable(
        'basedOn must reference a ServiceRequest (the questionnaire request)',
        'QuestionnaireResponse.basedOn[0]',
      );
    const request = await store.readIfExists<ServiceRequest>('ServiceRequest', id);
    // Someone else's request is as unknown as a missing one.
    if (!request || request.subject?.reference !== `Patient/${patientId}`)
      throw unprocessable('basedOn names no known questionnaire request', 'QuestionnaireResponse.basedOn[0]');
    const asked = request.extension?.find((e) => e.url === serviceRequest.QUESTIONNAIRE_REQUEST_EXTENSION)
      ?.valueReference?.reference;
    if (asked !== `Questionnaire/${questionnaireId}`)
      throw unprocessable(
        'The questionnaire request asks for a different questionnaire',
        'QuestionnaireResponse.basedOn[0]',
      );
    if (request.status !== 'active')
      throw unprocessable(
        `The questionnaire request is ${request.status}, not open`,
        'QuestionnaireResponse.basedOn[0]',
      );
    return request;
  }
  const open = await store.search<ServiceRequest>('ServiceRequest', {
    patient: `Patient/${patientId}`,
    status: 'active',
    _sort: 'authored',
    _count: 100,
  });
  return resourcesOf<ServiceRequest>(open, 'ServiceRequest').find((r) =>
    r.extension?.some(
      (x) =>
        x.url === serviceRequest.QUESTIONNAIRE_REQUEST_EXTENSION &&
        x.valueReference?.reference === `Questionnaire/${questionnaireId}`,
    ),
  );
}

/** The journey the answers belong to: as the response says, else the person's current open journey. */
async function journeyOf(
  store: FhirStore,
  response: QuestionnaireResponse,
  patientId: string,
): Promise<string | undefined> {
  const named = findExtension(response.extension, 'phb-journey')?.valueReference?.reference;
  if (named !== undefined) return /^EpisodeOfCare\/(.+)$/.exec(named)?.[1];
  const found = await store.search<EpisodeOfCare>('EpisodeOfCare', {
    patient: `Patient/${patientId}`,
    status: 'active,planned',
    _sort: '-date',
    _count: 1,
  });
  return found.entry?.[0]?.resource?.id;
}

export const CREATE_RESPONSE_ROUTE: ProtectedRoute = {
  face: 'fhir',
  method: 'post',
  path: '/QuestionnaireResponse',
  resource: 'QuestionnaireResponse',
  interaction: 'create',
  patient: responseSubject,
  urlFor: () => '/fhir/QuestionnaireResponse',
  bodyFor: (patientId) => ({
    resourceType: 'QuestionnaireResponse',
    status: 'completed',
    questionnaire: 'https://phb.fhir.example.org/Questionnaire/phb-impact|0.1.0',
    subject: { reference: `Patient/${patientId}` },
    authored: new Date().toISOString(),
    item: ['confidence', 'connected', 'progressTowardGoals', 'wellbeing'].map((linkId) => ({
      linkId,
      answer: [{ valueInteger: 3 }],
    })),
  }),
  handle: async (store, req, res) => {
    const { caller, patientId } = currentAccess();
    const response = bodyOf<QuestionnaireResponse>(req, 'QuestionnaireResponse');
    if (patientId === undefined || response.subject?.reference !== `Patient/${patientId}`) {
      throw badRequest(
        'subject must be the person the answers are about (Patient/<id>)',
        'QuestionnaireResponse.subject',
      );
    }
    if (response.status !== 'completed')
      throw unprocessable('Only completed answers can be submitted (status completed)', 'QuestionnaireResponse.status');
    if (!response.questionnaire)
      throw badRequest('questionnaire (the canonical URL answered) is required', 'QuestionnaireResponse.questionnaire');
    const questionnaire = await catalogOf(store).find(response.questionnaire);
    if (!questionnaire?.id)
      throw unprocessable(
        'The questionnaire answered is not known to this service',
        'QuestionnaireResponse.questionnaire',
      );

    const issues = validateResponse(
      questionnaire,
      response,
      await catalogOf(store).allowedAnswers(questionnaire, response),
    );
    if (issues.length > 0) throw new AppError(422, issues);
    const rules = rulesForScoring(questionnaire);
    const request = await requestAnswered(store, response, patientId, questionnaire.id);
    const journeyId = await journeyOf(store, response, patientId);
    const authored = response.authored ?? new Date().toISOString();
    const responseUrl = `urn:uuid:${randomUUID()}`;
    const { id: _ignored, meta: _meta, ...fields } = response;
    const stored: QuestionnaireResponse = {
      ...fields,
      authored,
      ...(journeyId !== undefined && !findExtension(response.extension, 'phb-journey')
        ? { extension: [...(response.extension ?? []), journeyExtension(journeyId)] }
        : {}),
      ...(request ? { basedOn: [{ reference: `ServiceRequest/${request.id}` }] } : {}),
    };
    const entries: BundleEntry[] = [
      { fullUrl: responseUrl, resource: stored, request: { method: 'POST', url: 'QuestionnaireResponse' } },
    ];
    if (request?.id) {
      // If-Match: two answers racing for one request cannot both complete it.
      entries.push({
        fullUrl: `ServiceRequest/${request.id}`,
        resource: { ...request, status: 'completed' },
        request: {
          method: 'PUT',
          url: `ServiceRequest/${request.id}`,
          ...(request.meta?.versionId ? { ifMatch: weakEtag(request.meta.versionId) } : {}),
        },
      });
    }
    let scores;
    try {
      scores = scoresOf(
        rules,
        numericAnswers(response),
        {
          budgetHolderId: patientId,
          ...(journeyId !== undefined ? { journeyId } : {}),
          ...scoredQuestionnaire(questionnaire, response.questionnaire),
          time: authored,
          responseId: 'placeholder',
          ...(request?.id ? { requestId: request.id } : {}),
        },
        () => '',
      );
    } catch (e) {
      if (e instanceof DomainError) throw unprocessable(e.message, 'QuestionnaireResponse.item');
      throw e;
    }
    for (const score of scores) {
      const { id: _noId, ...scored } = observation.toFhir(score);
      entries.push({
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: { ...scored, derivedFrom: [{ reference: responseUrl }] },
        request: { method: 'POST', url: 'Observation' },
      });
    }
    const bundle: Bundle = withProvenance(
      { resourceType: 'Bundle', type: 'transaction', entry: entries },
      caller,
      'CREATE',
    );
    let result: Bundle;
    try {
      result = await store.transaction(bundle);
    } catch (e) {
      if (isStoreConflict(e))
        throw new AppError(409, {
          code: 'conflict',
          diagnostics: 'The questionnaire request was answered at the same time; try again',
        });
      throw e;
    }
    const created = result.entry?.[0];
    const saved = created?.resource?.resourceType === 'QuestionnaireResponse' ? created.resource : undefined;
    if (saved?.id)
      res.setHeader(
        'Location',
        `${baseUrl(req)}/QuestionnaireResponse/${saved.id}/_history/${saved.meta?.versionId ?? '1'}`,
      );
    sendResource(res, saved ?? stored, 201);
  },
};

export const UPDATE_GOAL_ROUTE: ProtectedRoute = {
  face: 'fhir',
  method: 'put',
  path: '/Goal/:id',
  resource: 'Goal',
  interaction: 'update',
  patient: () => undefined,
  id: (req) => resourceIdParam(req.params.id),
  resolvePatient: async (store, req) => {
    const id = resourceIdParam(req.params.id);
    const current = await store.readIfExists<Goal>('Goal', id);
    if (!current) throw notFound(`Goal/${id} is not known`);
    const subject = localPatientOf(current);
    if (subject === undefined) throw new AppError(404, { code: 'not-found', diagnostics: `Goal/${id} is not known` });
    return { record: current, patientId: subject };
  },
  urlFor: (patientId) => `/fhir/Goal/${exampleId('Goal', patientId)}`,
  bodyFor: (patientId) => ({
    resourceType: 'Goal',
    id: exampleId('Goal', patientId),
    meta: { profile: [goal.PROFILE] },
    lifecycleStatus: 'active',
    achievementStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code: 'improving' }],
    },
    description: { text: 'I want to finish my course.' },
    subject: { reference: `Patient/${patientId}` },
    startDate: '2026-01-05',
    expressedBy: { reference: `Patient/${patientId}` },
  }),
  handle: async (store, req, res) => {
    const access = currentAccess();
    const { caller } = access;
    // The record the guard read, with the version it read.
    const current: Goal & { id: string } = { ...access.recordRead<Goal>('Goal'), id: resourceIdParam(req.params.id) };
    const proposed = bodyOf<Goal>(req, 'Goal');
    if (proposed.id !== current.id) throw badRequest("The body's id must be the id in the URL", 'Goal.id');
    const expected = ifMatchVersion(req);
    // Which elements differ at all (FHIR level), then the PHB rule on the ones allowed.
    const changed = goal.changedElements(current, proposed);
    const refused = changed.filter((f) => !(OWN_GOAL_FIELDS as readonly string[]).includes(f));
    if (refused.length > 0) {
      throw new AppError(
        422,
        refused.map((f) => ({
          code: 'business-rule' as const,
          diagnostics: `Goal.${f} cannot be changed here: only achievementStatus and new notes`,
          location: `Goal.${f}`,
        })),
      );
    }
    try {
      checkOwnGoalChange(goal.fromFhir(current), goal.fromFhir(proposed));
    } catch (e) {
      if (e instanceof DomainError)
        throw new AppError(422, {
          code: e.kind === 'invalid' ? 'invalid' : 'business-rule',
          diagnostics: e.message,
          location: e.field,
        });
      throw e;
    }
    if (changed.length === 0 && (expected === undefined || expected === current.meta?.versionId)) {
      sendResource(res, current);
      return;
    }
    const { meta: _meta, ...rest } = proposed;
    const next: Goal & { id: string } = {
      ...rest,
      id: current.id,
      ...(current.meta?.profile ? { meta: { profile: current.meta.profile } } : {}),
    };
    // Checked against the version the client read (If-Match), else the one read above: never a silent overwrite.
    const version = expected ?? current.meta?.versionId;
    const bundle = withProvenance(
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: `Goal/${current.id}`,
            resource: next,
            request: { method: 'PUT', url: `Goal/${current.id}`, ...(version ? { ifMatch: weakEtag(version) } : {}) },
          },
        ],
      },
      caller,
      'UPDATE',
    );
    let result: Bundle;
    try {
      result = await store.transaction(bundle);
    } catch (e) {
      if (isStoreConflict(e)) {
        throw new AppError(
          412,
          { code: 'conflict', diagnostics: 'The goal has changed since it was read; read it again' },
          { reason: 'version-conflict' },
        );
      }
      throw e;
    }
    const saved = result.entry?.[0]?.resource;
    sendResource(res, saved?.resourceType === 'Goal' ? saved : next);
  },
};
