namespace Worker.IntegrationTests.Infrastructure;

/// <summary>The wait helper itself: no services needed.</summary>
public class EventuallyTests
{
    [Fact]
    public async Task Returns_the_first_value_accepted()
    {
        var reads = 0;

        var value = await Eventually.ValueAsync(() => Task.FromResult(++reads), n => n >= 3, TimeSpan.FromSeconds(10), "three reads");

        Assert.Equal((3, 3), (value, reads));
    }

    [Fact]
    public async Task Fails_with_what_was_awaited_and_the_last_value_seen()
    {
        var failure = await Assert.ThrowsAsync<TimeoutException>(() =>
            Eventually.TrueAsync(() => Task.FromResult(false), TimeSpan.FromMilliseconds(300), "the moon to turn blue"));

        Assert.Equal("Waited 0.3 s for the moon to turn blue; last seen: False", failure.Message);
    }

    [Fact]
    public async Task A_read_that_hangs_does_not_outlast_the_bound()
    {
        var hang = new TaskCompletionSource<bool>();

        var (accepted, _) = await Eventually.PollAsync(() => hang.Task, ok => ok, TimeSpan.FromMilliseconds(300)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(accepted);
    }
}
