using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Worker.Health;

/// <summary>Ready only when PostgreSQL answers a trivial query: the audit trail cannot be written otherwise.</summary>
public sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
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
            // The exception message names the host, never the password.
            return HealthCheckResult.Unhealthy($"PostgreSQL is unreachable: {e.Message}");
        }
    }
}
