namespace Worker.Tests.Fakes;

public sealed class DrivenTimeProviderTests
{
    [Fact]
    public void A_timeout_guarding_running_code_does_not_move_the_clock()
    {
        var time = new DrivenTimeProvider();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);

        Assert.Null(time.NextJump());
    }

    [Fact]
    public void An_armed_wait_moves_the_clock_to_the_earliest_timer_guards_included()
    {
        var time = new DrivenTimeProvider();
        var start = time.GetUtcNow();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);
        using var cancel = new CancellationTokenSource();
        _ = Task.Delay(TimeSpan.FromSeconds(45), time, cancel.Token);

        Assert.Equal(start.AddSeconds(30), time.NextJump());
        cancel.Cancel();
    }

    [Fact]
    public async Task A_blocked_fake_call_lets_the_guard_fire()
    {
        var time = new DrivenTimeProvider();
        var start = time.GetUtcNow();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);

        async Task<bool> CallEndedByTheGuard()
        {
            try
            {
                await time.BlockUntilCancelledAsync(guard.Token);
                return false;
            }
            catch (OperationCanceledException)
            {
                return true;
            }
        }

        Assert.True(await time.Drive(CallEndedByTheGuard()));
        Assert.Equal(start.AddSeconds(30), time.GetUtcNow());
    }
}
