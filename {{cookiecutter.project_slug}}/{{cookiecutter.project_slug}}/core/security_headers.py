"""Content-Security-Policy and Permissions-Policy on every response.

Django 5.2 has no Content-Security-Policy of its own. The policies are settings
(CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY); a view that needs another one sets the
header itself, and this middleware leaves it alone. With CSP_REPORT_ONLY the browser reports
what the policy would block instead of blocking it.
"""

from django.conf import settings


def content_security_policy():
    directives = dict(settings.CONTENT_SECURITY_POLICY)
    if settings.CSP_REPORT_URI:
        directives["report-uri"] = [settings.CSP_REPORT_URI]
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def permissions_policy():
    return ", ".join(f"{feature}=({' '.join(allowed)})" for feature, allowed in settings.PERMISSIONS_POLICY.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        csp_header = "Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY else "Content-Security-Policy"
        self.headers = {csp_header: content_security_policy(), "Permissions-Policy": permissions_policy()}

    def __call__(self, request):
        response = self.get_response(request)
        for name, value in self.headers.items():
            response.headers.setdefault(name, value)
        return response
