"""The REST API: the payment endpoints (``views``), what they accept and answer
(``serializers``), their per-user throttles (``throttling``), and their OpenAPI descriptions
for drf-spectacular (``openapi``, ``openapi_views``)."""
