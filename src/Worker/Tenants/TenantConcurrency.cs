using Microsoft.Extensions.Options;
using Worker.ProviderHealth;

namespace Worker.Tenants;

/// <summary>
/// How many requests of each tenant this instance runs, against the tenant's <c>TenantLimits</c> limit. The configured
/// limit is the cluster's: each instance allows its share, as pacing does (<see cref="LiveInstances.Share(int)"/>:
/// rounded down, at least 1). A request that finds its tenant full is not made to wait here: the consumer defers it
/// for <see cref="RetryDelay"/> and hands its slot to another tenant's work.
/// </summary>
public sealed class TenantConcurrency(IOptions<TenantLimitsOptions> options, LiveInstances instances, TimeProvider time, Random? random = null)
{
    private readonly Dictionary<string, int> _running = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();
    private readonly Random _random = random ?? Random.Shared;

    /// <summary>The tenant's cluster-wide limit; null when it has none (no tenant, or unlisted without a default).</summary>
    public int? LimitOf(string? tenant)
    {
        if (string.IsNullOrEmpty(tenant))
            return null;
        var settings = options.Value;
        return settings.Tenants.TryGetValue(tenant, out var own) ? own.MaxConcurrency : settings.DefaultMaxConcurrency;
    }

    /// <summary>This instance's share of the tenant's limit; null when unlimited.</summary>
    public int? ShareOf(string? tenant) => LimitOf(tenant) is { } limit ? LiveInstances.Share(limit, instances.Count) : null;

    /// <summary>The tenant's requests running on this instance now.</summary>
    public int Running(string tenant)
    {
        lock (_lock)
            return _running.GetValueOrDefault(tenant);
    }

    /// <summary>
    /// A place for one request of <paramref name="tenant"/>, or null when its share is taken. Dispose the place when the
    /// run ends, however it ends; disposing twice frees it once. An unlimited tenant always gets a place, uncounted.
    /// </summary>
    public TenantSlot? TryEnter(string? tenant)
    {
        if (ShareOf(tenant) is not { } share)
            return TenantSlot.Unlimited;

        lock (_lock)
        {
            var running = _running.GetValueOrDefault(tenant!);
            if (running >= share)
                return null;
            _running[tenant!] = running + 1;
        }

        return new TenantSlot(this, tenant!);
    }

    /// <summary>When a request turned away now looks again: TenantLimits:RetryAfter from now, plus up to RetryJitter.</summary>
    public DateTimeOffset RetryAt()
    {
        var settings = options.Value;
        return time.GetUtcNow() + settings.RetryAfter + settings.RetryJitter * _random.NextDouble();
    }

    private void Exit(string tenant)
    {
        lock (_lock)
        {
            var running = _running.GetValueOrDefault(tenant) - 1;
            // Removed at zero: a stream of one-off tenant names does not grow the table.
            if (running <= 0)
                _running.Remove(tenant);
            else
                _running[tenant] = running;
        }
    }

    /// <summary>One request's place under its tenant's limit.</summary>
    public sealed class TenantSlot : IDisposable
    {
        internal static readonly TenantSlot Unlimited = new(null, null);

        private readonly TenantConcurrency? _owner;
        private readonly string? _tenant;
        private int _released;

        internal TenantSlot(TenantConcurrency? owner, string? tenant)
        {
            _owner = owner;
            _tenant = tenant;
        }

        public void Dispose()
        {
            if (_owner is not null && Interlocked.Exchange(ref _released, 1) == 0)
                _owner.Exit(_tenant!);
        }
    }
}
