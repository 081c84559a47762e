using Npgsql;

namespace Worker.ProviderHealth;

/// <summary>
/// This instance's row in <c>worker_instances</c>: renewed by <see cref="InstanceHeartbeat"/>, deleted on a graceful
/// stop. Times are PostgreSQL's <c>now()</c>, not the instance's clock: a machine whose clock is off by more than the
/// timeout would otherwise count itself out of the cluster, or count the dead in.
/// </summary>
public sealed class InstanceRegistry(NpgsqlDataSource database)
{
    // One round trip: the renewal, the count of the live (the renewed row included: a CTE's write is not visible to
    // its own query, hence the "+ 1" over the others), and the removal of rows dead for long (a crashed instance's).
    private const string RenewSql = """
        WITH renewed AS (
            INSERT INTO worker_instances (instance, started_at, seen_at) VALUES (@instance, now(), now())
            ON CONFLICT (instance) DO UPDATE SET seen_at = now()
            RETURNING instance
        ), pruned AS (
            DELETE FROM worker_instances WHERE seen_at < now() - @forget AND instance <> @instance
        )
        SELECT (count(*) + 1)::int FROM worker_instances WHERE seen_at >= now() - @timeout AND instance <> @instance
        """;

    private const string RemoveSql = "DELETE FROM worker_instances WHERE instance = @instance";

    /// <summary>How long a dead instance's row is kept before a live instance deletes it: long enough to say who was there.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromDays(1);

    /// <summary>Renews <paramref name="instance"/>'s row and returns the instances seen within <paramref name="timeout"/>, itself included.</summary>
    public async Task<int> RenewAsync(string instance, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(RenewSql);
        command.Parameters.Add(new NpgsqlParameter<string>("instance", instance));
        command.Parameters.Add(new NpgsqlParameter<TimeSpan>("timeout", timeout));
        command.Parameters.Add(new NpgsqlParameter<TimeSpan>("forget", ForgetAfter));
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Deletes <paramref name="instance"/>'s row, so the others' shares grow at their next renewal instead of after the timeout.</summary>
    public async Task RemoveAsync(string instance, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(RemoveSql);
        command.Parameters.Add(new NpgsqlParameter<string>("instance", instance));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
