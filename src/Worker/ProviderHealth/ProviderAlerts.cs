using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Contracts;

namespace Worker.ProviderHealth;

/// <summary>An open alert as stored in <c>provider_alerts</c>.</summary>
public sealed record OpenAlert(Guid Id, string Rule, string Provider, string Model, DateTimeOffset RaisedAt, string Detail);

/// <summary>What one evaluation changed.</summary>
public sealed record AlertChanges(IReadOnlyList<OpenAlert> Raised, IReadOnlyList<OpenAlert> Resolved);

/// <summary>
/// Evaluates <see cref="AlertRules"/> once per cluster per AlertInterval: a rule that starts holding raises an alert
/// (logged, stored, published as <see cref="ProviderAlertRaised"/>), one that stops holding resolves it
/// (<see cref="ProviderAlertResolved"/>). At most one alert per rule, provider and model is open at a time.
/// </summary>
public sealed class ProviderAlerts(
    HealthFiguresQuery figures,
    CircuitBreakers breakers,
    QuotaTracker quotas,
    ClusterSlots slots,
    IMonitoredModels monitored,
    NpgsqlDataSource database,
    IPublishEndpoint publisher,
    IOptions<ProviderHealthOptions> options,
    TimeProvider time,
    ILogger<ProviderAlerts> logger)
{
    private const string OpenSql = """
        SELECT id, rule, provider, model, raised_at, detail FROM provider_alerts
        WHERE resolved_at IS NULL AND (provider, model) IN (SELECT * FROM unnest(@providers::text[], @models::text[]))
        ORDER BY raised_at, rule
        """;

    private const string RaiseSql = """
        INSERT INTO provider_alerts (id, rule, provider, model, raised_at, detail) VALUES (@id, @rule, @provider, @model, @at, @detail)
        ON CONFLICT (rule, provider, model) WHERE resolved_at IS NULL DO NOTHING
        """;

    private const string ResolveSql = "UPDATE provider_alerts SET resolved_at = @at WHERE id = @id AND resolved_at IS NULL";

    /// <summary>
    /// The scheduled run: evaluates the configured chains' providers and models now, if this instance wins the slot
    /// <paramref name="scheduledAt"/> falls in. Null when another instance has it.
    /// </summary>
    public async Task<AlertChanges?> RunAsync(DateTimeOffset scheduledAt, CancellationToken cancellationToken)
    {
        if (await slots.TryClaimAsync(ClusterSlots.AlertsJob, scheduledAt, options.Value.AlertInterval, cancellationToken) is null)
            return null;
        return await EvaluateAsync(monitored.Models, time.GetUtcNow(), cancellationToken);
    }

    /// <summary>Evaluates every rule for <paramref name="pairs"/> as of <paramref name="now"/>, raising and resolving alerts.</summary>
    public async Task<AlertChanges> EvaluateAsync(IReadOnlyList<ProviderModel> pairs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var firing = new List<FiringAlert>();
        foreach (var f in await figures.RunAsync(pairs, now, cancellationToken))
        {
            var (state, openSince) = breakers.StatusOf(f.Pair.Provider, f.Pair.Model);
            firing.AddRange(AlertRules.Evaluate(f, state, openSince, now, settings));
            if (AlertRules.QuotaLowAlert(f.Pair, quotas.StatusOf(f.Pair.Provider, f.Pair.Model), now, settings) is { } quotaLow)
                firing.Add(quotaLow);
        }

        var open = await OpenAsync(pairs, cancellationToken);
        var raised = new List<OpenAlert>();
        foreach (var alert in firing.Where(f => !open.Any(o => Same(o, f))))
        {
            if (await RaiseAsync(alert, now, cancellationToken) is { } row)
                raised.Add(row);
        }

        var resolved = new List<OpenAlert>();
        foreach (var alert in open.Where(o => !firing.Any(f => Same(o, f))))
        {
            if (await ResolveAsync(alert, now, cancellationToken))
                resolved.Add(alert);
        }

        return new AlertChanges(raised, resolved);
    }

    /// <summary>The open alerts of <paramref name="pairs"/>, oldest first.</summary>
    public async Task<IReadOnlyList<OpenAlert>> OpenAsync(IReadOnlyList<ProviderModel> pairs, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(OpenSql);
        command.Parameters.Add(new NpgsqlParameter<string[]>("providers", [.. pairs.Select(p => p.Provider)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("models", [.. pairs.Select(p => p.Model)]));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var open = new List<OpenAlert>();
        while (await reader.ReadAsync(cancellationToken))
        {
            open.Add(new OpenAlert(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetString(5)));
        }

        return open;
    }

    // Stored and published in one transaction: if the publish fails, the row is rolled back and the next evaluation
    // raises the alert again. RabbitMQ confirms and drops a message published to an exchange no queue is bound to;
    // that is acceptable here, because every alert is also logged and stored, and GET /providers shows open ones.
    private async Task<OpenAlert?> RaiseAsync(FiringAlert alert, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var row = new OpenAlert(NewId.NextGuid(), alert.Rule, alert.Pair.Provider, alert.Pair.Model, now, alert.Detail);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(RaiseSql, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid>("id", row.Id));
            command.Parameters.Add(new NpgsqlParameter<string>("rule", row.Rule));
            command.Parameters.Add(new NpgsqlParameter<string>("provider", row.Provider));
            command.Parameters.Add(new NpgsqlParameter<string>("model", row.Model));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", now.ToUniversalTime()));
            command.Parameters.Add(new NpgsqlParameter<string>("detail", row.Detail));
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                return null; // raised meanwhile by another instance
        }

        await publisher.Publish(new ProviderAlertRaised(row.Id, row.Rule, row.Provider, row.Model, row.Detail, now), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Log.AlertRaised(logger, row.Rule, row.Provider, row.Model, row.Detail, row.Id);
        return row;
    }

    private async Task<bool> ResolveAsync(OpenAlert alert, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(ResolveSql, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid>("id", alert.Id));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", now.ToUniversalTime()));
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                return false;
        }

        await publisher.Publish(new ProviderAlertResolved(alert.Id, alert.Rule, alert.Provider, alert.Model, alert.RaisedAt, now), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Log.AlertResolved(logger, alert.Rule, alert.Provider, alert.Model, now - alert.RaisedAt, alert.Id);
        return true;
    }

    private static bool Same(OpenAlert open, FiringAlert firing) =>
        open.Rule == firing.Rule && open.Provider == firing.Pair.Provider && open.Model == firing.Pair.Model;
}
