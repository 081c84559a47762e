namespace Worker.Ops;

/// <summary>
/// Guards every ops route: 404 while no key is configured, 401 with a WWW-Authenticate challenge for a missing or
/// wrong token. Handlers take their parameters as strings, so nothing is bound (and no 400 given) before this runs.
/// </summary>
internal sealed class OpsAuthFilter(OpsKey key, ILogger<OpsAuthFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var access = key.Check(http.Request.Headers.Authorization.ToString());
        switch (access)
        {
            case OpsAccess.Allowed:
                return await next(context);

            case OpsAccess.Disabled:
                return TypedResults.Problem(
                    title: "Ops routes are disabled",
                    detail: $"The ops routes are off because {OpsOptions.ApiKeyKey} is not set. Set it to enable them.",
                    statusCode: StatusCodes.Status404NotFound);

            default:
                Log.Rejected(logger, http.Request.Path, access, http.Connection.RemoteIpAddress?.ToString());
                http.Response.Headers.WWWAuthenticate = access == OpsAccess.WrongToken
                    ? "Bearer realm=\"ops\", error=\"invalid_token\""
                    : "Bearer realm=\"ops\"";
                return TypedResults.Problem(
                    title: "Unauthorized",
                    detail: $"Send Authorization: Bearer <{OpsOptions.ApiKeyKey}>.",
                    statusCode: StatusCodes.Status401Unauthorized);
        }
    }
}
