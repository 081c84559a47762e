using System.Text;
using System.Text.Json;
using Npgsql;
using Worker.Requests;

namespace Worker.Ops;

/// <summary>Reads of the audit tables for the ops API, in plain SQL over the snake_case schema.</summary>
public sealed class RequestsQuery(NpgsqlDataSource dataSource)
{
    private const string RequestColumns = """
        request_id, conversation_id, chain, status, received_at, first_attempt_at, completed_at, provider, model,
        fallback_used, attempt_count, input_tokens, output_tokens, estimated_cost_usd, failure_reason, error,
        replay_count, metadata::text AS metadata, prompt_hash, response_hash, tenant, route::text AS route
        """;

    /// <summary>Newest first. Only the filters given go into the statement, so each one can use its index.</summary>
    public async Task<IReadOnlyList<RequestView>> ListAsync(RequestFilter filter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var where = new List<string>();
        if (filter.Status is not null)
        {
            where.Add("status = @status");
            command.Parameters.AddWithValue("status", filter.Status);
        }

        if (filter.Provider is not null)
        {
            where.Add("provider = @provider");
            command.Parameters.AddWithValue("provider", filter.Provider);
        }

        if (filter.Since is { } since)
        {
            where.Add("received_at >= @since");
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("since", since.ToUniversalTime()));
        }

        var sql = new StringBuilder($"SELECT {RequestColumns} FROM requests");
        if (where.Count > 0)
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        sql.Append(" ORDER BY received_at DESC, request_id DESC LIMIT @limit");
        command.Parameters.AddWithValue("limit", filter.Limit);
        command.CommandText = sql.ToString();

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<RequestView>();
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(ReadRequest(reader));
        return rows;
    }

    /// <summary>The request and its timeline in one round trip; null when the id is unknown.</summary>
    public async Task<RequestDetail?> GetAsync(Guid requestId, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT {RequestColumns}, prompt, response FROM requests WHERE request_id = $1")
        {
            Parameters = { new NpgsqlParameter<Guid> { TypedValue = requestId } },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT step_index, provider, model, attempt, started_at, ended_at, latency_ms, call_made, outcome, error_class,
                   http_status, retry_after_ms, decision, wait_ms, note, detail, input_tokens, output_tokens, cost_usd
            FROM attempts
            WHERE request_id = $1
            ORDER BY started_at, id
            """)
        {
            Parameters = { new NpgsqlParameter<Guid> { TypedValue = requestId } },
        });

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;

        var request = ReadRequest(reader);
        var prompt = reader.Text("prompt");
        var response = reader.Text("response");

        await reader.NextResultAsync(cancellationToken);
        var attempts = new List<AttemptView>();
        while (await reader.ReadAsync(cancellationToken))
        {
            attempts.Add(new AttemptView(
                Step: reader.Value<int>("step_index"),
                Provider: reader.GetString(reader.GetOrdinal("provider")),
                Model: reader.GetString(reader.GetOrdinal("model")),
                Attempt: reader.Value<int>("attempt"),
                StartedAt: reader.Value<DateTimeOffset>("started_at"),
                EndedAt: reader.Value<DateTimeOffset>("ended_at"),
                LatencyMs: reader.Value<int>("latency_ms"),
                CallMade: reader.Value<bool>("call_made"),
                Outcome: reader.GetString(reader.GetOrdinal("outcome")),
                ErrorClass: reader.Text("error_class"),
                HttpStatus: reader.Nullable<int>("http_status"),
                RetryAfterMs: reader.Nullable<int>("retry_after_ms"),
                Decision: reader.GetString(reader.GetOrdinal("decision")),
                WaitMs: reader.Nullable<int>("wait_ms"),
                Note: reader.Text("note"),
                Detail: reader.Text("detail"),
                Tokens: TokenCounts.Of(reader.Nullable<int>("input_tokens"), reader.Nullable<int>("output_tokens")),
                CostUsd: reader.Nullable<decimal>("cost_usd")));
        }

        return new RequestDetail(request, prompt, response, attempts);
    }

    private static RequestView ReadRequest(NpgsqlDataReader reader)
    {
        var metadata = reader.Text("metadata");
        return new RequestView(
            RequestId: reader.Value<Guid>("request_id"),
            ConversationId: reader.Text("conversation_id"),
            Chain: reader.GetString(reader.GetOrdinal("chain")),
            Status: reader.GetString(reader.GetOrdinal("status")),
            ReceivedAt: reader.Value<DateTimeOffset>("received_at"),
            FirstAttemptAt: reader.Nullable<DateTimeOffset>("first_attempt_at"),
            CompletedAt: reader.Nullable<DateTimeOffset>("completed_at"),
            Provider: reader.Text("provider"),
            Model: reader.Text("model"),
            FallbackUsed: reader.Value<bool>("fallback_used"),
            AttemptCount: reader.Value<int>("attempt_count"),
            Tokens: TokenCounts.Of(reader.Nullable<int>("input_tokens"), reader.Nullable<int>("output_tokens")),
            EstimatedCostUsd: reader.Nullable<decimal>("estimated_cost_usd"),
            FailureReason: reader.Text("failure_reason"),
            Error: reader.Text("error"),
            ReplayCount: reader.Value<int>("replay_count"),
            Metadata: metadata is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(metadata),
            PromptHash: reader.Text("prompt_hash"),
            ResponseHash: reader.Text("response_hash"),
            Tenant: reader.Text("tenant"),
            Route: StoredJson.ReadRoute(reader.Text("route")));
    }
}
