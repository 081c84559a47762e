using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Worker.Budgets;
using Worker.Metrics;
using Worker.ProviderHealth;

namespace Worker.Ops;

/// <summary>
/// The ops HTTP API: request lookup, recent requests and provider metrics, behind a bearer token from
/// <c>OPS_API_KEY</c>. Examples in ops/worker.http.
/// </summary>
public static class OpsApi
{
    public static IServiceCollection AddOpsApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OpsOptions>()
            .Configure(o => o.ApiKey = configuration[OpsOptions.ApiKeyKey]?.Trim())
            .Validate(o => !o.Enabled || o.ApiKey!.Length >= OpsOptions.MinimumKeyLength,
                $"{OpsOptions.ApiKeyKey} must be at least {OpsOptions.MinimumKeyLength} characters (e.g. `openssl rand -hex 32`), or unset to turn the ops routes off.")
            .ValidateOnStart();
        services.AddSingleton(sp => new OpsKey(sp.GetRequiredService<IOptions<OpsOptions>>().Value.ApiKey));
        services.AddSingleton<RequestsQuery>();
        services.AddSingleton<ProviderMetricsQuery>();
        services.AddSingleton<DeadlineRejectionsQuery>();
        return services;
    }

    public static IEndpointRouteBuilder MapOpsApi(this IEndpointRouteBuilder app)
    {
        var services = app.ServiceProvider;
        services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(() =>
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpsApi));
            if (services.GetRequiredService<OpsKey>().Enabled)
                Log.Enabled(logger);
            else
                Log.Disabled(logger);
        });

        // Mapped even without a key, so a caller learns why from the 404's body; the filter answers before any handler.
        var ops = app.MapGroup("").AddEndpointFilter<OpsAuthFilter>();
        ops.MapGet("/requests/{requestId}", GetRequestAsync);
        ops.MapGet("/requests", ListRequestsAsync);
        ops.MapGet("/metrics/providers", GetProviderMetricsAsync);
        ops.MapGet("/metrics/deadlines", GetDeadlineRejectionsAsync);
        ops.MapGet("/providers", ProvidersEndpoint.GetAsync);
        ops.MapGet("/budgets", BudgetsEndpoint.GetAsync);
        return app;
    }

    private static async Task<Results<Ok<RequestDetail>, ProblemHttpResult, ValidationProblem>> GetRequestAsync(
        string requestId, RequestsQuery requests, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(requestId, out var id))
            return Invalid("requestId", "must be a GUID, e.g. 0b6f1c1e-2d1a-4c8e-9a55-3f0e7d2c9b41.");

        var detail = await requests.GetAsync(id, cancellationToken);
        return detail is null
            ? TypedResults.Problem(title: "Unknown request", detail: $"No request with id {id} is in the audit trail (never received, or deleted by retention).", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(detail);
    }

    private static async Task<Results<Ok<RequestList>, ValidationProblem>> ListRequestsAsync(
        string? status, string? provider, string? since, string? limit, RequestsQuery requests, TimeProvider time, CancellationToken cancellationToken)
    {
        var filter = RequestFilter.TryParse(status, provider, since, limit, time.GetUtcNow(), out var errors);
        if (filter is null)
            return TypedResults.ValidationProblem(errors);

        return TypedResults.Ok(new RequestList(filter, await requests.ListAsync(filter, cancellationToken)));
    }

    private static async Task<Results<Ok<ProviderMetricsReport>, ValidationProblem>> GetProviderMetricsAsync(
        string? window, ProviderMetricsQuery metrics, TimeProvider time, CancellationToken cancellationToken)
    {
        window = string.IsNullOrEmpty(window) ? "1h" : window;
        if (!MetricsWindow.TryParse(window, out var span))
            return Invalid("window", $"must be {MetricsWindow.Help}.");

        var until = time.GetUtcNow();
        var since = until - span;
        return TypedResults.Ok(new ProviderMetricsReport(window, since, until, await metrics.RunAsync(since, cancellationToken)));
    }

    private static async Task<Results<Ok<DeadlineRejectionsReport>, ValidationProblem>> GetDeadlineRejectionsAsync(
        string? window, DeadlineRejectionsQuery rejections, TimeProvider time, CancellationToken cancellationToken)
    {
        window = string.IsNullOrEmpty(window) ? "1h" : window;
        if (!MetricsWindow.TryParse(window, out var span))
            return Invalid("window", $"must be {MetricsWindow.Help}.");

        var until = time.GetUtcNow();
        var since = until - span;
        var groups = await rejections.RunAsync(since, cancellationToken);
        return TypedResults.Ok(new DeadlineRejectionsReport(window, since, until, groups.Sum(g => g.Requests), groups));
    }

    private static ValidationProblem Invalid(string parameter, string problem) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [parameter] = [problem] });
}

/// <summary><c>GET /requests</c>: the filters as applied (defaults filled in) and the matching requests, newest first.</summary>
public sealed record RequestList(RequestFilter Filter, IReadOnlyList<RequestView> Requests);

/// <summary><c>GET /metrics/providers</c>: one entry per provider and model seen in [since, until].</summary>
public sealed record ProviderMetricsReport(string Window, DateTimeOffset Since, DateTimeOffset Until, IReadOnlyList<ProviderMetrics> Providers);

/// <summary>
/// <c>GET /metrics/deadlines</c>: requests received in [since, until] and answered deadline_exceeded without a provider
/// call, in all and per chain, tenant and reason.
/// </summary>
public sealed record DeadlineRejectionsReport(string Window, DateTimeOffset Since, DateTimeOffset Until, long Total, IReadOnlyList<DeadlineRejections> Groups);
