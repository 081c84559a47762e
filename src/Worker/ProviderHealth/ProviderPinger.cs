using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Audit;
using Worker.Contracts;
using Worker.Persistence;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>
/// The cheapest real call that proves a provider works: "ping" with a tiny output budget, straight through the
/// provider's client with a short timeout of its own (not through the chain, its retries or the breakers), once per
/// cluster per interval. The result is stored for every instance to read, and applied here at once.
/// </summary>
public sealed class ProviderPinger(
    IProviderRegistry providers,
    ClusterSlots slots,
    PingSync sync,
    RateBudgets budgets,
    NpgsqlDataSource database,
    IOptions<ProviderHealthOptions> options,
    TimeProvider time,
    ILogger<ProviderPinger> logger)
{
    private const string Insert = """
        INSERT INTO provider_pings (provider, model, slot, pinged_at, latency_ms, outcome, error_class, http_status, detail, instance)
        VALUES (@provider, @model, @slot, @pinged_at, @latency_ms, @outcome, @error_class, @http_status, @detail, @instance)
        RETURNING id
        """;

    private static readonly IReadOnlyList<ChatMessage> Prompt = [new(ChatRoles.User, "ping")];

    /// <summary>
    /// Pings <paramref name="provider"/>/<paramref name="model"/> for the slot <paramref name="scheduledAt"/> falls in,
    /// unless another instance has claimed it (or the provider's pacing budget is spent). Returns the stored ping, or null.
    /// </summary>
    public async Task<PingRow?> PingAsync(string provider, string model, DateTimeOffset scheduledAt, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (await slots.TryClaimAsync(ClusterSlots.PingJob(provider, model), scheduledAt, settings.PingInterval, cancellationToken) is not { } slot)
        {
            Log.PingTakenElsewhere(logger, provider, model, ClusterSlots.SlotOf(scheduledAt, settings.PingInterval));
            return null;
        }

        if (!providers.TryGet(provider, out var client))
            return null;

        // A ping spends the provider's quota like any call: when the budget is spent, live traffic is evidence enough.
        if (!budgets.TryAcquire(provider, 1 + settings.PingMaxOutputTokens).Allowed)
        {
            Log.PingSkippedPacing(logger, provider, model);
            return null;
        }

        var pingedAt = time.GetUtcNow();
        var started = time.GetTimestamp();
        var result = await CallAsync(client, model, settings, cancellationToken);
        var latency = time.GetElapsedTime(started);
        if (result is ProviderFailure { Class: ErrorClass.RateLimited } throttled)
            budgets.Throttled(provider, throttled.RetryAfter);
        if (result.Quota is { } quota)
            budgets.Quotas.Saw(provider, model, quota);

        var (outcome, errorClass, status, detail) = Classify(result);
        var ping = new PingRow
        {
            Provider = AuditText.Clean(provider, 128)!,
            Model = AuditText.Clean(model, 128)!,
            Slot = slot,
            PingedAt = Sql.Micro(pingedAt),
            LatencyMs = (int)Math.Min(int.MaxValue, latency.TotalMilliseconds),
            Outcome = outcome,
            ErrorClass = errorClass?.ToWireName(),
            HttpStatus = status,
            Detail = AuditText.Clean(detail, 2_000),
            Instance = settings.InstanceName,
        };
        ping.Id = await StoreAsync(ping, cancellationToken);

        if (outcome == PingOutcome.Up)
            Log.PingUp(logger, provider, model, ping.LatencyMs, ping.ErrorClass);
        else
            Log.PingNotUp(logger, provider, model, outcome, ping.ErrorClass, status, ping.LatencyMs, ping.Detail);

        await sync.ApplyAsync(ping);
        return ping;
    }

    /// <summary>
    /// Any answer from the provider means it is up, whatever the answer: reasoning models often spend a tiny budget
    /// thinking and stop at MAX_TOKENS before any text (bad_output), and a block or a 400 is an answer too. A server
    /// error, no connection, no answer in time or a rejected key is down; a 429 is throttled.
    /// </summary>
    public static (string Outcome, ErrorClass? Class, int? HttpStatus, string? Detail) Classify(ProviderResult result) => result switch
    {
        ProviderSuccess s => (PingOutcome.Up, null, null, s.FinishReason is { } reason ? $"finish reason {reason}" : null),
        ProviderFailure { Class: ErrorClass.RateLimited } f => (PingOutcome.Throttled, f.Class, f.HttpStatus, f.Detail),
        ProviderFailure { Class: ErrorClass.Server or ErrorClass.Network or ErrorClass.Timeout or ErrorClass.Auth } f =>
            (PingOutcome.Down, f.Class, f.HttpStatus, f.Detail),
        ProviderFailure f => (PingOutcome.Up, f.Class, f.HttpStatus, f.Detail),
        _ => throw new ArgumentOutOfRangeException(nameof(result), result, null),
    };

    private async Task<ProviderResult> CallAsync(ICompletionProvider client, string model, ProviderHealthOptions settings, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(settings.PingTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await client.CompleteAsync(new ProviderRequest(model, Prompt, settings.PingMaxOutputTokens, null), linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProviderFailure(ErrorClass.Timeout, $"no answer within {settings.PingTimeout.TotalMilliseconds:0} ms");
        }
    }

    private async Task<long> StoreAsync(PingRow ping, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(Insert);
        command.Parameters.Add(new NpgsqlParameter<string>("provider", ping.Provider));
        command.Parameters.Add(new NpgsqlParameter<string>("model", ping.Model));
        command.Parameters.Add(new NpgsqlParameter<long>("slot", ping.Slot));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("pinged_at", ping.PingedAt.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<int>("latency_ms", ping.LatencyMs));
        command.Parameters.Add(new NpgsqlParameter<string>("outcome", ping.Outcome));
        command.Parameters.Add(new NpgsqlParameter("error_class", (object?)ping.ErrorClass ?? DBNull.Value) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Varchar });
        command.Parameters.Add(new NpgsqlParameter("http_status", (object?)ping.HttpStatus ?? DBNull.Value) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter("detail", (object?)ping.Detail ?? DBNull.Value) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string>("instance", ping.Instance));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
