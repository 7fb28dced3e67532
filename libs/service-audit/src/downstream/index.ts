export * from './downstream-report.js';
export * from './downstream-reports.service.js';
export * from './downstream.controller.js';
