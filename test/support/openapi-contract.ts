import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020, { ErrorObject, Options, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { OpenAPIRouter, OpenAPIValidator, Operation } from 'openapi-backend';
import type { OpenAPIV3_1 } from 'openapi-types';

/**
 * openapi.yaml as the tests hold the service to it. @apidevtools/swagger-parser
 * validates the document against the OpenAPI 3.1 schema and resolves every $ref;
 * openapi-backend finds the operation a request reaches and validates bodies
 * against it, with Ajv in the spec's dialect (JSON Schema 2020-12, strict mode).
 */
export const SPEC_FILE = path.join(__dirname, '..', '..', 'openapi.yaml');

export type Spec = OpenAPIV3_1.Document;

/** Ajv as the spec's jsonSchemaDialect asks: JSON Schema 2020-12, strict, every error reported. */
export function specAjv(options: Options = {}): Ajv2020 {
  const ajv = new Ajv2020({ ...options, strict: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

/** The spec as written, $refs kept (throws unless it is valid OpenAPI). */
export async function readSpec(file = SPEC_FILE): Promise<Spec> {
  const written = (await SwaggerParser.parse(file)) as Spec;
  await SwaggerParser.validate(structuredClone(written));
  return written;
}

export class OpenApiContract {
  readonly router: OpenAPIRouter<Spec>;
  readonly validator: OpenAPIValidator<Spec>;
  private readonly ajv = specAjv();
  private readonly compiled = new WeakMap<object, ValidateFunction>();

  /** `spec` with its $refs resolved; every request and response schema is compiled here. */
  constructor(readonly spec: Spec) {
    this.router = new OpenAPIRouter({ definition: spec });
    this.validator = new OpenAPIValidator({ definition: spec, router: this.router, customizeAjv: (_ajv, options) => specAjv(options) });
  }

  operation(method: string, url: string): Operation<Spec> | undefined {
    return this.router.matchOperation({ method: method.toLowerCase(), path: url.split('?')[0], headers: {} });
  }

  /** What is wrong with an answer to `method url` by the operation the spec documents there; [] when nothing. */
  responseProblems(method: string, url: string, res: { status: number; contentType?: string; body: unknown }): string[] {
    const operation = this.operation(method, url);
    if (!operation) return [`${method.toUpperCase()} ${url} is no documented operation`];
    const name = `${operation.method.toUpperCase()} ${operation.path} ${res.status}`;
    const response = operation.responses?.[String(res.status)] as OpenAPIV3_1.ResponseObject | undefined;
    if (!response) return [`${name} is not documented`];
    const mediaType = String(res.contentType ?? '').split(';')[0].trim();
    const media = response.content?.[mediaType];
    if (!media) return [`${name}: content type ${mediaType || 'none'}, documented ${Object.keys(response.content ?? {}).join(' or ')}`];
    const errors = mediaType === 'application/json'
      ? this.validator.validateResponse(res.body, operation, res.status).errors
      : this.errorsOf(media.schema!, res.body);
    return describe(name, errors);
  }

  /** What is wrong with a JSON request body for `method url`; [] when the spec accepts it. */
  requestBodyProblems(method: string, url: string, body: unknown): string[] {
    const operation = this.operation(method, url);
    if (!operation) return [`${method.toUpperCase()} ${url} is no documented operation`];
    const request = { method: operation.method, path: url, body, headers: { 'content-type': 'application/json' } };
    return describe(`${operation.method.toUpperCase()} ${operation.path} request`, this.validator.validateRequest(request, operation).errors);
  }

  /** What is wrong with `body` as the one error shape (components.schemas.Error); [] when nothing. */
  errorShapeProblems(body: unknown): string[] {
    return describe('Error', this.errorsOf(this.spec.components!.schemas!.Error, body));
  }

  private errorsOf(schema: object, value: unknown): ErrorObject[] | null | undefined {
    if (!this.compiled.has(schema)) this.compiled.set(schema, this.ajv.compile(schema));
    const validate = this.compiled.get(schema)!;
    return validate(value) ? null : validate.errors;
  }
}

function describe(name: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => `${name}: body${error.instancePath} ${error.message}`);
}

let loading: Promise<OpenApiContract> | undefined;
/** openapi.yaml, validated and with its $refs resolved, once per test file. */
export function openApiContract(): Promise<OpenApiContract> {
  loading ??= (async () => new OpenApiContract((await SwaggerParser.dereference(await readSpec())) as Spec))();
  return loading;
}
