using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Worker.ProviderHealth;
using Worker.Tenants;
using Worker.Tests.Fakes;

namespace Worker.Tests.Tenants;

/// <summary>The per-instance count of each tenant's running requests against its share of the cluster-wide limit.</summary>
public sealed class TenantConcurrencyTests
{
    private readonly LiveInstances _instances = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));

    private TenantConcurrency Limits(int? defaultMax = null, double jitterSample = 0.5, params (string Tenant, int Max)[] tenants)
    {
        var options = new TenantLimitsOptions { DefaultMaxConcurrency = defaultMax };
        foreach (var (tenant, max) in tenants)
            options.Tenants[tenant] = new TenantLimitOptions { MaxConcurrency = max };
        return new TenantConcurrency(Options.Create(options), _instances, _clock, new FixedRandom(jitterSample));
    }

    [Fact]
    public void A_tenant_gets_as_many_places_as_its_limit_and_a_freed_place_is_taken_again()
    {
        var limits = Limits(tenants: ("acme", 2));

        var first = limits.TryEnter("acme");
        var second = limits.TryEnter("ACME");

        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(limits.TryEnter("acme"));
        Assert.Equal(2, limits.Running("acme"));

        first!.Dispose();
        Assert.Equal(1, limits.Running("acme"));
        Assert.NotNull(limits.TryEnter("acme"));
        Assert.Null(limits.TryEnter("acme"));
    }

    [Fact]
    public void Releasing_a_place_twice_frees_it_once()
    {
        var limits = Limits(tenants: ("acme", 2));
        var first = limits.TryEnter("acme")!;
        _ = limits.TryEnter("acme")!;

        first.Dispose();
        first.Dispose();

        Assert.Equal(1, limits.Running("acme"));
        Assert.NotNull(limits.TryEnter("acme"));
        Assert.Null(limits.TryEnter("acme"));
    }

    [Fact]
    public void One_tenant_at_its_limit_leaves_the_others_their_places()
    {
        var limits = Limits(tenants: [("acme", 1), ("globex", 1)]);

        Assert.NotNull(limits.TryEnter("acme"));
        Assert.Null(limits.TryEnter("acme"));

        Assert.NotNull(limits.TryEnter("globex"));
        Assert.Equal((1, 1), (limits.Running("acme"), limits.Running("globex")));
    }

    [Theory]
    [InlineData(8, 1, 8)]
    [InlineData(8, 3, 2)]
    [InlineData(8, 4, 2)]
    [InlineData(2, 3, 1)]
    [InlineData(1, 5, 1)]
    public void Each_instance_allows_its_share_of_the_cluster_limit_rounded_down_and_at_least_one(int limit, int instances, int share)
    {
        _instances.Counted(instances);
        var limits = Limits(tenants: ("acme", limit));

        var taken = Enumerable.Range(0, limit + 1).Select(_ => limits.TryEnter("acme")).TakeWhile(s => s is not null).Count();

        Assert.Equal(share, limits.ShareOf("acme"));
        Assert.Equal(share, taken);
    }

    [Fact]
    public void The_share_follows_the_live_instance_count_as_it_changes()
    {
        var limits = Limits(tenants: ("acme", 4));
        _instances.Counted(2);
        var held = new[] { limits.TryEnter("acme"), limits.TryEnter("acme") };
        Assert.Null(limits.TryEnter("acme"));

        // An instance left: this one may run the whole limit; running requests are never taken back.
        _instances.Counted(1);
        Assert.NotNull(limits.TryEnter("acme"));
        Assert.All(held, Assert.NotNull);
    }

    [Fact]
    public void Requests_without_a_tenant_and_unlisted_tenants_without_a_default_are_not_limited()
    {
        var limits = Limits(tenants: ("acme", 1));

        Assert.Null(limits.LimitOf(null));
        Assert.Null(limits.LimitOf(""));
        Assert.Null(limits.LimitOf("initech"));
        Assert.All(Enumerable.Range(0, 100).Select(_ => limits.TryEnter(null)), Assert.NotNull);
        Assert.All(Enumerable.Range(0, 100).Select(_ => limits.TryEnter("initech")), Assert.NotNull);
        Assert.Equal(0, limits.Running("initech"));
    }

    [Fact]
    public void The_default_limits_each_unlisted_tenant_on_its_own_and_a_listed_tenant_keeps_its_own_limit()
    {
        var limits = Limits(defaultMax: 1, tenants: ("acme", 3));

        Assert.NotNull(limits.TryEnter("initech"));
        Assert.Null(limits.TryEnter("initech"));
        Assert.NotNull(limits.TryEnter("hooli"));
        Assert.Equal(3, limits.LimitOf("Acme"));
        Assert.Null(limits.LimitOf(null));
    }

    [Theory]
    [InlineData(0.0, 1000)]
    [InlineData(0.5, 1500)]
    [InlineData(0.999, 1999)]
    public void The_next_look_is_retry_after_from_now_plus_a_share_of_the_jitter(double sample, int expectedMs)
    {
        var limits = Limits(jitterSample: sample, tenants: ("acme", 1));
        var now = _clock.GetUtcNow();

        Assert.Equal(now.AddMilliseconds(expectedMs), limits.RetryAt());
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(now.AddMinutes(1).AddMilliseconds(expectedMs), limits.RetryAt());
    }

    [Fact]
    public void Places_taken_and_freed_from_many_threads_add_up()
    {
        var limits = Limits(tenants: ("acme", 4));
        var peak = 0;
        var inside = 0;

        Parallel.For(0, 2000, _ =>
        {
            using var slot = limits.TryEnter("acme");
            if (slot is null)
                return;
            var now = Interlocked.Increment(ref inside);
            InterlockedMax(ref peak, now);
            Interlocked.Decrement(ref inside);
        });

        Assert.InRange(peak, 1, 4);
        Assert.Equal(0, limits.Running("acme"));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
