using Npgsql;
using NpgsqlTypes;
using Worker.Persistence;

namespace Worker.Requests;

/// <summary>
/// The claims of brand-new requests, many in one statement: each row is inserted <c>in_progress</c> with its claim
/// token and a lease on the database's clock. A request id that already has a row is not touched; its delivery takes
/// the one-request path of <see cref="RequestLifecycle.ClaimAsync"/> (a duplicate, a redelivery, a replay, a deferred
/// request coming back), which reads the row under a lock and decides.
/// </summary>
internal static class ClaimBatch
{
    // Sorted by id, so two batches holding the same ids (duplicate deliveries) take their locks in the same order.
    private const string InsertSql = $"""
        INSERT INTO requests (request_id, conversation_id, chain, status, received_at, fallback_used, attempt_count, metadata,
                              replay_count, prompt_hash, prompt, payload_hash, claimed_by, claim_token, lease_until, tenant, trace_parent)
        SELECT c.request_id, c.conversation_id, c.chain, '{RequestStatus.InProgress}', c.received_at, FALSE, 0, c.metadata,
               0, c.prompt_hash, c.prompt, c.payload_hash, c.claimed_by, c.claim_token, now() + @lease, c.tenant, c.trace_parent
        FROM unnest(@request_id, @conversation_id, @chain, @received_at, @metadata, @prompt_hash, @prompt, @payload_hash, @claimed_by, @claim_token, @tenant,
                    @trace_parent)
             AS c(request_id, conversation_id, chain, received_at, metadata, prompt_hash, prompt, payload_hash, claimed_by, claim_token, tenant, trace_parent)
        ORDER BY c.request_id
        ON CONFLICT (request_id) DO NOTHING
        RETURNING claim_token
        """;

    /// <summary>Inserts the claims; answers true for each row inserted, false for a request that already had a row.</summary>
    public static async Task<IReadOnlyList<bool>> WriteAsync(NpgsqlDataSource database, TimeSpan lease, IReadOnlyList<RequestRow> rows,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await WriteAsync(connection, lease, rows, cancellationToken);
    }

    /// <inheritdoc cref="WriteAsync(NpgsqlDataSource, TimeSpan, IReadOnlyList{RequestRow}, CancellationToken)"/>
    public static async Task<IReadOnlyList<bool>> WriteAsync(NpgsqlConnection connection, TimeSpan lease, IReadOnlyList<RequestRow> rows,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(InsertSql, connection);
        command.Parameters.Add(Sql.Parameter("lease", NpgsqlDbType.Interval, lease));
        command.Parameters.Add(Sql.Array("request_id", NpgsqlDbType.Uuid, rows, r => r.RequestId));
        command.Parameters.Add(Sql.Array("conversation_id", NpgsqlDbType.Text, rows, r => r.ConversationId));
        command.Parameters.Add(Sql.Array("chain", NpgsqlDbType.Text, rows, r => r.Chain));
        command.Parameters.Add(Sql.Array("received_at", NpgsqlDbType.TimestampTz, rows, r => r.ReceivedAt));
        command.Parameters.Add(Sql.Array("metadata", NpgsqlDbType.Jsonb, rows, r => r.Metadata is null ? null : MetadataJson.Write(r.Metadata)));
        command.Parameters.Add(Sql.Array("prompt_hash", NpgsqlDbType.Text, rows, r => r.PromptHash));
        command.Parameters.Add(Sql.Array("prompt", NpgsqlDbType.Text, rows, r => r.Prompt));
        command.Parameters.Add(Sql.Array("payload_hash", NpgsqlDbType.Text, rows, r => r.PayloadHash));
        command.Parameters.Add(Sql.Array("claimed_by", NpgsqlDbType.Text, rows, r => r.ClaimedBy));
        command.Parameters.Add(Sql.Array("claim_token", NpgsqlDbType.Uuid, rows, r => r.ClaimToken));
        command.Parameters.Add(Sql.Array("tenant", NpgsqlDbType.Text, rows, r => r.Tenant));
        command.Parameters.Add(Sql.Array("trace_parent", NpgsqlDbType.Text, rows, r => r.TraceParent));

        var inserted = new HashSet<Guid>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                inserted.Add(reader.GetGuid(0));
            }
        }

        return rows.Select(r => inserted.Contains(r.ClaimToken!.Value)).ToList();
    }
}
