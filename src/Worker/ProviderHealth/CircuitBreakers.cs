using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>
/// One circuit breaker per provider and model (<see cref="Breaker"/> has the rules). Live calls run through it and open
/// it when the provider is down, not when it is merely noisy; pings isolate it (held open) after repeated failures and
/// close it on success, so traffic returns to the primary without a live request having to risk it. A rejected call
/// (auth) holds it open for AuthBreakDuration, then one live request tries it. While a breaker is open the chain skips
/// that step at once. Openings and closings go to <paramref name="events"/> (table breaker_events), where flapping is counted.
/// </summary>
public sealed class CircuitBreakers(
    IOptions<ProviderHealthOptions> options,
    TimeProvider time,
    ILogger<CircuitBreakers> logger,
    BreakerEventLog? events = null)
{
    private readonly ConcurrentDictionary<(string Provider, string Model), Breaker> _breakers = new();

    /// <summary>Failures that say the provider itself is unwell, as health states and alerts count errors. Rate limits
    /// (paced separately), blocked content and invalid requests say nothing about its health.</summary>
    public static bool CountsAgainstProvider(ErrorClass errorClass) =>
        errorClass is ErrorClass.Server or ErrorClass.Network or ErrorClass.Timeout or ErrorClass.BadOutput or ErrorClass.Auth;

    /// <summary>
    /// Failures that say the provider is down: the only ones that count against it in a breaker's window and fail a
    /// trial. A malformed or empty answer is still an answer; a rejected call has its own rule (the auth hold).
    /// </summary>
    public static bool SaysProviderDown(ErrorClass errorClass) =>
        errorClass is ErrorClass.Server or ErrorClass.Network or ErrorClass.Timeout;

    /// <summary>
    /// Runs <paramref name="call"/> through the breaker; null when the breaker refused (open, held or isolated). With
    /// <paramref name="lastChance"/> (the request has no other step left) an open or auth-held breaker may admit it as an
    /// early trial: one at a time, not within <see cref="HalfOpenProbeWait"/> of a failed trial, never while isolated by pings.
    /// </summary>
    public async Task<ProviderResult?> ExecuteAsync(
        string provider, string model, Func<CancellationToken, Task<ProviderResult>> call, CancellationToken cancellationToken, bool lastChance = false)
    {
        var breaker = Get(provider, model);
        if (breaker.Admit(lastChance) is not { } ticket)
            return null;

        ProviderResult result;
        try
        {
            result = await call(cancellationToken);
        }
        catch
        {
            breaker.Abandon(ticket);
            throw;
        }

        breaker.Complete(ticket, result);
        return result;
    }

    public CircuitState StateOf(string provider, string model) => Get(provider, model).Status().State;

    /// <summary>The breaker's state, and since when it has been open (open, isolated or half-open) if it is.</summary>
    public (CircuitState State, DateTimeOffset? OpenSince) StatusOf(string provider, string model) => Get(provider, model).Status();

    /// <summary>
    /// When the step may be callable again, or null when it may be called now. Open: when the break ends (trials may
    /// then run). Half-open with every trial slot taken: look again shortly. Held by a rejected call: when its break ends
    /// (or the next ping lands, if sooner). Isolated by pings: after the next ping has had time to land.
    /// </summary>
    public DateTimeOffset? UnavailableUntil(string provider, string model)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        DateTimeOffset? nextPingLands = settings.PingInterval > TimeSpan.Zero
            ? ClusterSlots.NextBoundary(now, settings.PingInterval) + settings.PingTimeout + settings.SyncInterval
            : null;
        return Get(provider, model).UnavailableUntil(now, nextPingLands);
    }

    /// <summary>How long to wait for a half-open trial before looking at the breaker again; also the least time between
    /// a failed trial and an early (last-chance) one.</summary>
    internal static readonly TimeSpan HalfOpenProbeWait = TimeSpan.FromSeconds(2);

    /// <summary>Every breaker created so far, for the ops view.</summary>
    public IEnumerable<(string Provider, string Model, CircuitState State)> All() =>
        _breakers.Select(b => (b.Key.Provider, b.Key.Model, b.Value.Status().State));

    /// <summary>A ping succeeded: close the breaker (if it was not already) so the next request goes to this provider.</summary>
    public Task PingSucceededAsync(string provider, string model)
    {
        Get(provider, model).PingSucceeded();
        return Task.CompletedTask;
    }

    /// <summary>A ping failed: after enough of them in a row (or at once for a rejected key), hold the breaker open.</summary>
    public Task PingFailedAsync(string provider, string model, ErrorClass errorClass)
    {
        Get(provider, model).PingFailed(errorClass);
        return Task.CompletedTask;
    }

    private Breaker Get(string provider, string model) =>
        _breakers.GetOrAdd((provider, model), key => new Breaker(key.Provider, key.Model, options.Value, time, logger, events));
}
