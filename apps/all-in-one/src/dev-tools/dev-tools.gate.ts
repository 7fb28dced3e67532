import { Inject, Injectable, type NestMiddleware, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import { PROVIDER_CONFIG } from '@ciba/platform';
import { readCookie } from '@ciba/service-notifier';
import { DEV_TOOLS_COOKIE, DEV_TOOLS_KEY_PARAM, DevToolsAccess } from './dev-tools-access.js';

/**
 * In front of every development tool route. A caller `DevToolsAccess` does not allow gets exactly
 * the answer of a path where nothing is mounted (Nest's own 404), so the tools' existence is not
 * revealed. A GET carrying the start's key as `?key=` sets it as an HttpOnly, SameSite=Strict cookie
 * for `/dev` and redirects to the same URL without it, so the key leaves the address bar.
 */
@Injectable()
export class DevToolsGate implements NestMiddleware {
  private readonly secureCookie: boolean;

  constructor(
    private readonly access: DevToolsAccess,
    @Inject(PROVIDER_CONFIG) config: ProviderConfig,
  ) {
    this.secureCookie = new URL(config.issuer).protocol === 'https:';
  }

  use(req: Request, res: Response, next: () => void): void {
    const url = new URL(req.originalUrl, 'http://dev-tools.invalid');
    const offered = url.searchParams.get(DEV_TOOLS_KEY_PARAM);
    if (req.method === 'GET' && this.access.isKey(offered)) {
      url.searchParams.delete(DEV_TOOLS_KEY_PARAM);
      res.setHeader('Set-Cookie', `${DEV_TOOLS_COOKIE}=${this.access.key}; HttpOnly; SameSite=Strict; Path=/dev${this.secureCookie ? '; Secure' : ''}`);
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.redirect(303, `${url.pathname}${url.search}`);
      return;
    }
    if (this.access.allows(req.socket.remoteAddress, req.headers, readCookie(req.headers.cookie, DEV_TOOLS_COOKIE))) {
      next();
      return;
    }
    throw new NotFoundException(`Cannot ${req.method} ${req.originalUrl}`);
  }
}
