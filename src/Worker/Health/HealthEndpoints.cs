using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Worker.Health;

public static class HealthEndpoints
{
    private const string PostgresCheck = "postgres";

    /// <summary>
    /// Health checks: the bus (MassTransit registers its own, tagged "ready") and PostgreSQL, through the
    /// NpgsqlDataSource that AddAudit registers (one pool for the audit trail and the check).
    /// </summary>
    public static IServiceCollection AddWorkerHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<PostgresHealthCheck>(PostgresCheck, tags: ["ready"]);
        return services;
    }

    /// <summary>/health/live: the process answers. /health/ready: the broker is connected and the database reachable.</summary>
    public static void MapWorkerHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteAsync });
    }

    /// <summary>
    /// Status only, and a fixed description of what is not ready: the endpoints answer anyone, and a check's own
    /// description or exception (MassTransit's, Npgsql's) names hosts, users and endpoints. The details are logged.
    /// </summary>
    internal static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Status == HealthStatus.Healthy ? null : GenericDescription(e.Key),
            }),
        });
    }

    private static string GenericDescription(string check) => check switch
    {
        PostgresCheck => PostgresHealthCheck.Unreachable,
        "masstransit-bus" => "message bus not ready",
        _ => "not ready",
    };
}
