using Microsoft.Extensions.Time.Testing;
using Worker.ProviderHealth;

namespace Worker.Tests.ProviderHealth;

/// <summary>A 429 paces, it does not eject: the in-flight limit a provider's 429s teach (AIMD), on a fake clock.</summary>
public class AdaptiveConcurrencyTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly AdaptiveConcurrency _limits;

    public AdaptiveConcurrencyTests() => _limits = new AdaptiveConcurrency(_time);

    private async Task<List<AdaptiveConcurrency.CallSlot>> EnterAsync(int count)
    {
        var slots = new List<AdaptiveConcurrency.CallSlot>();
        for (var i = 0; i < count; i++)
            slots.Add(Assert.IsType<AdaptiveConcurrency.CallSlot>(await _limits.EnterAsync("gemini", TimeSpan.Zero, CancellationToken.None)));
        return slots;
    }

    private Task<AdaptiveConcurrency.CallSlot?> TryEnterAsync() => _limits.EnterAsync("gemini", TimeSpan.Zero, CancellationToken.None).AsTask();

    [Fact]
    public async Task A_provider_that_never_answered_429_has_no_limit()
    {
        var slots = await EnterAsync(500);

        Assert.Equal((null, 500), _limits.StatusOf("gemini"));
        slots.ForEach(s => s.Complete(answered: true, throttled: false));
        Assert.Equal((null, 0), _limits.StatusOf("gemini"));
    }

    [Fact]
    public async Task A_429_halves_the_calls_in_flight_and_later_calls_wait_for_room()
    {
        var slots = await EnterAsync(10);

        slots[0].Complete(answered: false, throttled: true);

        Assert.Equal((5, 9), _limits.StatusOf("gemini"));
        Assert.Null(await TryEnterAsync());
        slots.Skip(1).Take(5).ToList().ForEach(s => s.Complete(answered: false, throttled: false));
        Assert.NotNull(await TryEnterAsync());
    }

    [Fact]
    public async Task A_burst_of_429s_within_a_second_is_one_signal()
    {
        var slots = await EnterAsync(16);

        slots.Take(3).ToList().ForEach(s => s.Complete(answered: false, throttled: true));
        Assert.Equal(8, _limits.StatusOf("gemini").Limit);

        _time.Advance(AdaptiveConcurrency.DecreaseInterval);
        slots[3].Complete(answered: false, throttled: true);
        Assert.Equal(4, _limits.StatusOf("gemini").Limit);
    }

    [Fact]
    public async Task Answers_grow_the_limit_by_about_one_per_limits_worth_of_answers()
    {
        var slots = await EnterAsync(8);
        slots[0].Complete(answered: false, throttled: true); // limit 4
        foreach (var slot in slots.Skip(1).Take(4))
            slot.Complete(answered: true, throttled: false);

        // 4 + 1/4 + 1/4.25 + ... : just short of 5 after four answers, 5 after the fifth.
        Assert.Equal(4, _limits.StatusOf("gemini").Limit);
        slots[5].Complete(answered: true, throttled: false);
        Assert.Equal(5, _limits.StatusOf("gemini").Limit);
    }

    [Fact]
    public async Task The_limit_never_drops_below_one_call()
    {
        var slots = await EnterAsync(1);
        for (var i = 0; i < 5; i++)
        {
            slots[^1].Complete(answered: false, throttled: true);
            _time.Advance(AdaptiveConcurrency.DecreaseInterval);
            slots.Add(Assert.IsType<AdaptiveConcurrency.CallSlot>(await TryEnterAsync()));
        }

        Assert.Equal((1, 1), _limits.StatusOf("gemini"));
    }

    [Fact]
    public async Task A_minute_without_a_429_lifts_the_limit()
    {
        var slots = await EnterAsync(4);
        slots[0].Complete(answered: false, throttled: true);
        Assert.Equal(2, _limits.StatusOf("gemini").Limit);

        _time.Advance(AdaptiveConcurrency.LiftAfter);

        Assert.Null(_limits.StatusOf("gemini").Limit);
        Assert.NotNull(await TryEnterAsync());
    }

    [Fact]
    public async Task A_waiting_call_gets_the_first_slot_that_frees_up_in_arrival_order()
    {
        var slots = await EnterAsync(2);
        slots[0].Complete(answered: false, throttled: true); // limit 1, one in flight
        var first = _limits.EnterAsync("gemini", TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        var second = _limits.EnterAsync("gemini", TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        Assert.False(first.IsCompleted);

        slots[1].Dispose(); // frees its place without an answer, so the limit stays at one

        var granted = await first.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(granted);
        Assert.False(second.IsCompleted);
        Assert.Equal(1, _limits.StatusOf("gemini").InFlight);
    }

    [Fact]
    public async Task A_wait_longer_than_allowed_gives_up_without_keeping_a_slot()
    {
        var slots = await EnterAsync(2);
        slots[0].Complete(answered: false, throttled: true); // limit 1, one in flight
        var waiting = _limits.EnterAsync("gemini", TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();

        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        slots[1].Dispose();
        Assert.Equal(0, _limits.StatusOf("gemini").InFlight);
        Assert.NotNull(await TryEnterAsync());
    }

    [Fact]
    public async Task A_slot_completed_twice_frees_one_place_only()
    {
        var slots = await EnterAsync(3);

        slots[0].Complete(answered: true, throttled: false);
        slots[0].Dispose();

        Assert.Equal(2, _limits.StatusOf("gemini").InFlight);
    }
}
