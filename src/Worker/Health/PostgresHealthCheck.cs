using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Worker.Health;

/// <summary>Ready only when PostgreSQL answers a trivial query: the audit trail cannot be written otherwise.</summary>
public sealed class PostgresHealthCheck(NpgsqlDataSource dataSource, ILogger<PostgresHealthCheck> logger) : IHealthCheck
{
    /// <summary>What an anonymous caller of /health/ready learns; the error itself goes to the log.</summary>
    internal const string Unreachable = "database unreachable";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // Npgsql's messages name the host and the database, never the password.
            Log.DatabaseUnreachable(logger, e.GetType().Name, e.Message);
            return HealthCheckResult.Unhealthy(Unreachable);
        }
    }
}
