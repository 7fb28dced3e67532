import { All, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Put, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { NO_STORE_HEADERS, OAuthExceptionFilter, methodNotAllowed } from '@ciba/platform';
import { invalidRequest } from '@ciba/protocol';
import { type ClientInformation, ClientRegistrationService, type RegistrationCaller } from './client-registration.service.js';

export const REGISTRATION_PATH = '/register';

/**
 * RFC 7591 §3 the client registration endpoint (`POST /register`) and RFC 7592 §2 the client
 * configuration endpoint (`GET`, `PUT`, `DELETE /register/<client_id>`), served only when
 * registration is enabled (CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN): otherwise every path answers
 * 404 as if nothing were mounted.
 */
@Controller(REGISTRATION_PATH.slice(1))
@UseFilters(OAuthExceptionFilter)
export class ClientRegistrationController {
  constructor(private readonly service: ClientRegistrationService) {}

  @Post()
  @HttpCode(201)
  async register(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<ClientInformation> {
    this.requireEnabled();
    const body = await this.service.register(callerOf(req), jsonObjectOf(req));
    res.set(NO_STORE_HEADERS);
    return body;
  }

  @Get(':clientId')
  async read(@Param('clientId') clientId: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<ClientInformation> {
    this.requireEnabled();
    const body = await this.service.read(clientId, callerOf(req));
    res.set(NO_STORE_HEADERS);
    return body;
  }

  @Put(':clientId')
  async update(@Param('clientId') clientId: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<ClientInformation> {
    this.requireEnabled();
    const body = await this.service.update(clientId, callerOf(req), jsonObjectOf(req));
    res.set(NO_STORE_HEADERS);
    return body;
  }

  @Delete(':clientId')
  @HttpCode(204)
  async remove(@Param('clientId') clientId: string, @Req() req: Request): Promise<void> {
    this.requireEnabled();
    await this.service.remove(clientId, callerOf(req));
  }

  @All()
  otherMethods(): never {
    this.requireEnabled();
    throw methodNotAllowed('POST');
  }

  @All(':clientId')
  otherClientMethods(): never {
    this.requireEnabled();
    throw methodNotAllowed('GET, PUT, DELETE');
  }

  private requireEnabled(): void {
    if (!this.service.enabled) throw new NotFoundException();
  }
}

function callerOf(req: Request): RegistrationCaller {
  return { authorization: req.headers.authorization, address: req.ip };
}

/** RFC 7591 §3.1: the metadata is a JSON object (`application/json`). */
function jsonObjectOf(req: Request): Record<string, unknown> {
  if (!req.is('application/json')) throw invalidRequest('the request must be application/json');
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('the request body must be a JSON object of client metadata');
  return body as Record<string, unknown>;
}
