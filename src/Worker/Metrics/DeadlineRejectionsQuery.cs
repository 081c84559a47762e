using Npgsql;
using Worker.Chain;
using Worker.Contracts;
using Worker.Persistence;

namespace Worker.Metrics;

/// <summary>
/// Deadline rejections over a window, from the audit trail: requests answered deadline_exceeded with no provider call
/// for them, by chain, tenant and reason. The same definition as the <c>worker.deadline.rejections</c> counter
/// (<see cref="WorkerMetrics.DeadlineRejection"/>), so the two agree; this one survives restarts and sees every instance.
/// </summary>
public sealed class DeadlineRejectionsQuery(NpgsqlDataSource dataSource)
{
    // Through the (status, received_at) index: the window is on received_at, so the cost grows with the window, not the table.
    private static readonly string Sql = $"""
        SELECT r.chain, r.tenant,
               CASE WHEN EXISTS (SELECT 1 FROM attempts a WHERE a.request_id = r.request_id AND a.note = @skip)
                    THEN '{WorkerMetrics.DeadlineTooLittleTime}' ELSE '{WorkerMetrics.DeadlineExpired}' END AS reason,
               count(*)
        FROM requests r
        WHERE r.status IN ('{RequestStatus.Failed}', '{RequestStatus.Parked}') AND r.received_at >= @since
          AND r.failure_reason = '{FailureReasons.DeadlineExceeded}' AND r.attempt_count = 0
        GROUP BY 1, 2, 3
        ORDER BY 4 DESC, 1, 2, 3
        """;

    public async Task<IReadOnlyList<DeadlineRejections>> RunAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("since", since.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<string>("skip", ChainRunner.DeadlineSkip));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<DeadlineRejections>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DeadlineRejections(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }

        return rows;
    }
}

/// <summary>Requests of one chain and tenant (null: none) rejected for their deadline, for one reason (expired, too_little_time).</summary>
public sealed record DeadlineRejections(string Chain, string? Tenant, string Reason, long Requests);
