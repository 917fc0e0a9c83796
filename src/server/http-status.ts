/** Status lines for the statuses the proxy answers (uWS writes the status line verbatim). */
const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  501: '501 Not Implemented',
  503: '503 Service Unavailable',
}

export function statusLine (status: number): string {
  return STATUS_TEXT[status] ?? `${status} Status`
}
