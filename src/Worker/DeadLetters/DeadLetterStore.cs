using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Worker.Ops;
using Worker.Persistence;

namespace Worker.DeadLetters;

/// <summary>
/// Reads of the dead-letter store and the operations ops start on it, in plain SQL over the snake_case schema.
/// Replays only create their operation here; <see cref="ReplayRunner"/> carries them out.
/// </summary>
public sealed class DeadLetterStore(NpgsqlDataSource dataSource, RequestsQuery requests)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private const string ItemColumns = """
        d.id, d.request_id, d.source, d.status, d.reason, d.error_class, d.provider, d.chain, d.exception_type, d.group_key,
        d.error, d.first_parked_at, d.last_parked_at, d.park_count, COALESCE(r.replay_count, 0) AS replay_count,
        d.resolved_at, d.resolved_by, d.operation_id
        """;

    private const string FromItems = "FROM dead_letters d LEFT JOIN requests r ON r.request_id = d.request_id";

    /// <summary>Most recently parked first.</summary>
    public async Task<IReadOnlyList<DeadLetterView>> ListAsync(DeadLetterFilter filter, string? status, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var where = Where(command.Parameters, filter, null, status, replayableOnly: false);
        command.CommandText = $"SELECT {ItemColumns} {FromItems} WHERE {where} ORDER BY d.last_parked_at DESC, d.id LIMIT @limit";
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<DeadLetterView>();
        while (await reader.ReadAsync(cancellationToken))
            items.Add(ReadItem(reader));
        return items;
    }

    /// <summary>Parked items by cause, largest group first.</summary>
    public async Task<IReadOnlyList<DeadLetterGroup>> GroupsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT group_key, reason, error_class, provider, chain, exception_type, count(*)::int AS count,
                   min(first_parked_at) AS first_seen, max(last_parked_at) AS last_seen
            FROM dead_letters
            WHERE status = '{DeadLetterStatus.Parked}'
            GROUP BY group_key, reason, error_class, provider, chain, exception_type
            ORDER BY count DESC, last_seen DESC
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var groups = new List<DeadLetterGroup>();
        while (await reader.ReadAsync(cancellationToken))
        {
            groups.Add(new DeadLetterGroup(reader.Value<string>("group_key"), reader.Value<string>("reason"), reader.Text("error_class"),
                reader.Text("provider"), reader.Text("chain"), reader.Text("exception_type"), reader.Value<int>("count"),
                reader.Value<DateTimeOffset>("first_seen"), reader.Value<DateTimeOffset>("last_seen")));
        }

        return groups;
    }

    /// <summary>By dead-letter id or request id; null when neither is known.</summary>
    public async Task<DeadLetterDetail?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        DeadLetterView item;
        JsonElement? message, headers;
        string? body, contentType, stackTrace;
        DateTimeOffset? faultedAt;
        await using (var command = dataSource.CreateCommand($"""
            SELECT {ItemColumns}, d.message::text AS message, d.body, d.content_type, d.headers::text AS headers, d.stack_trace, d.faulted_at
            {FromItems}
            WHERE d.id = @id OR d.request_id = @id
            ORDER BY (d.id = @id) DESC, d.last_parked_at DESC
            LIMIT 1
            """))
        {
            command.Parameters.AddWithValue("id", id);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
                return null;

            item = ReadItem(reader);
            message = JsonOrNull(reader.Text("message"));
            headers = JsonOrNull(reader.Text("headers"));
            body = reader.Text("body");
            contentType = reader.Text("content_type");
            stackTrace = reader.Text("stack_trace");
            faultedAt = reader.Nullable<DateTimeOffset>("faulted_at");
        }

        var operations = new List<OperationRef>();
        await using (var command = dataSource.CreateCommand("""
            SELECT o.id, o.kind, o.requested_by, o.requested_at, i.state, i.done_at, i.note
            FROM dead_letter_operation_items i JOIN dead_letter_operations o ON o.id = i.operation_id
            WHERE i.dead_letter_id = @id
            ORDER BY o.requested_at
            """))
        {
            command.Parameters.AddWithValue("id", item.Id);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                operations.Add(new OperationRef(reader.Value<Guid>("id"), reader.Value<string>("kind"), reader.Value<string>("requested_by"),
                    reader.Value<DateTimeOffset>("requested_at"), reader.Value<string>("state"), reader.Nullable<DateTimeOffset>("done_at"),
                    reader.Text("note")));
            }
        }

        var request = item.RequestId is { } requestId ? await requests.GetAsync(requestId, cancellationToken) : null;
        return new DeadLetterDetail(item, message, body, contentType, headers, stackTrace, faultedAt, request, operations);
    }

    /// <summary>How many parked items a replay (only those with a message to send) or an archive of the selection would take.</summary>
    public async Task<int> CountAsync(DeadLetterSelection selection, string kind, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var where = Where(command.Parameters, selection.Filter, selection.Ids, DeadLetterStatus.Parked, replayableOnly: kind == OperationKinds.Replay);
        command.CommandText = $"SELECT count(*)::int FROM dead_letters d WHERE {where}";
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Records a replay with its items (the selection as it is now, oldest first) for <see cref="ReplayRunner"/>. An
    /// empty selection is recorded too, completed at once: every action ops take is on record.
    /// </summary>
    public async Task<OperationAccepted> CreateReplayAsync(DeadLetterSelection selection, string who, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var operationId = await InsertOperationAsync(connection, OperationKinds.Replay, selection, who, now, cancellationToken);

        await using var items = new NpgsqlCommand { Connection = connection };
        var where = Where(items.Parameters, selection.Filter, selection.Ids, DeadLetterStatus.Parked, replayableOnly: true);
        items.CommandText = $"""
            INSERT INTO dead_letter_operation_items (operation_id, dead_letter_id, position, state)
            SELECT @operation_id, d.id, row_number() OVER (ORDER BY d.first_parked_at, d.id), '{ItemState.Pending}'
            FROM dead_letters d WHERE {where}
            """;
        items.Parameters.AddWithValue("operation_id", operationId);
        var selected = await items.ExecuteNonQueryAsync(cancellationToken);

        await using var total = new NpgsqlCommand($"""
            UPDATE dead_letter_operations
            SET total = @total,
                status = CASE WHEN @total = 0 THEN '{OperationStatus.Completed}' ELSE status END,
                finished_at = CASE WHEN @total = 0 THEN @now END
            WHERE id = @id
            """, connection);
        total.Parameters.AddWithValue("total", selected);
        total.Parameters.AddWithValue("now", now);
        total.Parameters.AddWithValue("id", operationId);
        await total.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new OperationAccepted(operationId, selected, DryRun: false);
    }

    /// <summary>
    /// Archives the parked items of the selection in one transaction, recorded as a completed operation. Their requests
    /// become <c>failed</c> (the producer already has its CompletionFailed), so the audit retention can remove them.
    /// </summary>
    public async Task<OperationAccepted> ArchiveAsync(DeadLetterSelection selection, string who, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var operationId = await InsertOperationAsync(connection, OperationKinds.Archive, selection, who, now, cancellationToken);

        await using var archive = new NpgsqlCommand { Connection = connection };
        var where = Where(archive.Parameters, selection.Filter, selection.Ids, DeadLetterStatus.Parked, replayableOnly: false);
        archive.CommandText = $"""
            WITH chosen AS (
                SELECT d.id, d.request_id, d.first_parked_at FROM dead_letters d WHERE {where} FOR UPDATE
            ),
            items AS (
                INSERT INTO dead_letter_operation_items (operation_id, dead_letter_id, position, state, done_at)
                SELECT @operation_id, id, row_number() OVER (ORDER BY first_parked_at, id), '{ItemState.Done}', @now FROM chosen
            ),
            archived AS (
                UPDATE dead_letters d
                SET status = '{DeadLetterStatus.Archived}', resolved_at = @now, resolved_by = @who, operation_id = @operation_id
                FROM chosen c WHERE d.id = c.id
            ),
            resolved AS (
                UPDATE requests r SET status = '{RequestStatus.Failed}'
                FROM chosen c WHERE r.request_id = c.request_id AND r.status = '{RequestStatus.Parked}'
            )
            SELECT count(*)::int FROM chosen
            """;
        archive.Parameters.AddWithValue("operation_id", operationId);
        archive.Parameters.AddWithValue("now", now);
        archive.Parameters.AddWithValue("who", who);
        var selected = (int)(await archive.ExecuteScalarAsync(cancellationToken))!;

        await using var done = new NpgsqlCommand($"""
            UPDATE dead_letter_operations
            SET total = @n, done = @n, status = '{OperationStatus.Completed}', started_at = @now, finished_at = @now
            WHERE id = @id
            """, connection);
        done.Parameters.AddWithValue("n", selected);
        done.Parameters.AddWithValue("now", now);
        done.Parameters.AddWithValue("id", operationId);
        await done.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new OperationAccepted(operationId, selected, DryRun: false);
    }

    /// <summary>An operation with its progress; for a replay, what became of the requests sent so far.</summary>
    public async Task<OperationView?> GetOperationAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT o.id, o.kind, o.status, o.requested_by, o.requested_at, o.selection::text AS selection, o.redirect_chain,
                   o.total, o.done, o.skipped, o.started_at, o.finished_at,
                   count(*) FILTER (WHERE i.state = '{ItemState.Done}' AND r.status = '{RequestStatus.Succeeded}')::int AS succeeded,
                   count(*) FILTER (WHERE i.state = '{ItemState.Done}' AND r.status = '{RequestStatus.Failed}')::int AS failed,
                   count(*) FILTER (WHERE i.state = '{ItemState.Done}' AND r.status = '{RequestStatus.Parked}')::int AS parked,
                   count(*) FILTER (WHERE i.state = '{ItemState.Done}' AND (r.status IS NULL OR r.status NOT IN
                       ('{RequestStatus.Succeeded}', '{RequestStatus.Failed}', '{RequestStatus.Parked}')))::int AS pending
            FROM dead_letter_operations o
            LEFT JOIN dead_letter_operation_items i ON i.operation_id = o.id
            LEFT JOIN dead_letters d ON d.id = i.dead_letter_id
            LEFT JOIN requests r ON r.request_id = d.request_id
            WHERE o.id = @id
            GROUP BY o.id
            """);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;

        var kind = reader.Value<string>("kind");
        var total = reader.Value<int>("total");
        var done = reader.Value<int>("done");
        var skipped = reader.Value<int>("skipped");
        return new OperationView(
            reader.Value<Guid>("id"), kind, reader.Value<string>("status"), reader.Value<string>("requested_by"),
            reader.Value<DateTimeOffset>("requested_at"), JsonDocument.Parse(reader.Value<string>("selection")).RootElement.Clone(),
            reader.Text("redirect_chain"), total, done, skipped, Math.Max(0, total - done - skipped),
            kind == OperationKinds.Replay
                ? new ReplayOutcomes(reader.Value<int>("succeeded"), reader.Value<int>("failed"), reader.Value<int>("parked"), reader.Value<int>("pending"))
                : null,
            reader.Nullable<DateTimeOffset>("started_at"), reader.Nullable<DateTimeOffset>("finished_at"));
    }

    /// <summary>
    /// The WHERE clause of a selection over <c>dead_letters d</c>, with its parameters. Only the filters given go into
    /// the statement. <paramref name="replayableOnly"/> keeps items that carry a request to send.
    /// </summary>
    internal static string Where(NpgsqlParameterCollection parameters, DeadLetterFilter? filter, IReadOnlyList<Guid>? ids, string? status, bool replayableOnly)
    {
        var where = new List<string>();
        void Add(string condition, string name, object value, NpgsqlDbType type)
        {
            where.Add(condition);
            parameters.Add(new NpgsqlParameter(name, type) { Value = value });
        }

        if (status is not null)
            Add("d.status = @status", "status", status, NpgsqlDbType.Varchar);
        if (ids is not null)
            Add("(d.id = ANY(@ids) OR d.request_id = ANY(@ids))", "ids", ids.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Uuid);
        if (filter?.Reason is { } reason)
            Add("d.reason = @reason", "reason", reason, NpgsqlDbType.Varchar);
        if (filter?.Provider is { } provider)
            Add("d.provider = @provider", "provider", provider, NpgsqlDbType.Varchar);
        if (filter?.Chain is { } chain)
            Add("d.chain = @chain", "chain", chain, NpgsqlDbType.Varchar);
        if (filter?.Group is { } group)
            Add("d.group_key = @group", "group", group, NpgsqlDbType.Varchar);
        if (filter?.Since is { } since)
            Add("d.last_parked_at >= @since", "since", since.ToUniversalTime(), NpgsqlDbType.TimestampTz);
        if (filter?.Until is { } until)
            Add("d.last_parked_at < @until", "until", until.ToUniversalTime(), NpgsqlDbType.TimestampTz);
        if (filter?.ReplayedFewerThan is { } max)
            Add("NOT EXISTS (SELECT 1 FROM requests rc WHERE rc.request_id = d.request_id AND rc.replay_count >= @max_replays)",
                "max_replays", max, NpgsqlDbType.Integer);
        if (replayableOnly)
            where.Add("d.message IS NOT NULL");

        return where.Count == 0 ? "TRUE" : string.Join(" AND ", where);
    }

    private static async Task<Guid> InsertOperationAsync(NpgsqlConnection connection, string kind, DeadLetterSelection selection, string who,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7(now);
        await using var command = new NpgsqlCommand($"""
            INSERT INTO dead_letter_operations (id, kind, status, requested_by, requested_at, selection, redirect_chain, total, done, skipped)
            VALUES (@id, @kind, '{OperationStatus.Pending}', @who, @now, @selection, @chain, 0, 0, 0)
            """, connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("who", who);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.Add(new NpgsqlParameter("selection", NpgsqlDbType.Jsonb) { Value = SelectionJson(selection) });
        command.Parameters.Add(new NpgsqlParameter("chain", NpgsqlDbType.Varchar) { Value = (object?)selection.RedirectChain ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return id;
    }

    /// <summary>What was asked for, as recorded on the operation (time windows resolved to instants).</summary>
    internal static string SelectionJson(DeadLetterSelection selection) => JsonSerializer.Serialize(new
    {
        requestIds = selection.Ids,
        filter = selection.Filter,
        chain = selection.RedirectChain,
    }, Json);

    private static DeadLetterView ReadItem(NpgsqlDataReader reader) => new(
        reader.Value<Guid>("id"), reader.Nullable<Guid>("request_id"), reader.Value<string>("source"), reader.Value<string>("status"),
        reader.Value<string>("reason"), reader.Text("error_class"), reader.Text("provider"), reader.Text("chain"), reader.Text("exception_type"),
        reader.Value<string>("group_key"), reader.Text("error"), reader.Value<DateTimeOffset>("first_parked_at"),
        reader.Value<DateTimeOffset>("last_parked_at"), reader.Value<int>("park_count"), reader.Value<int>("replay_count"),
        reader.Nullable<DateTimeOffset>("resolved_at"), reader.Text("resolved_by"), reader.Nullable<Guid>("operation_id"));

    private static JsonElement? JsonOrNull(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}
