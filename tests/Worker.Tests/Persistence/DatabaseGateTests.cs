using Worker.Persistence;

namespace Worker.Tests.Persistence;

public class DatabaseGateTests
{
    [Theory]
    [InlineData("Host=localhost;Username=w;Password=p", 80, 20)]
    [InlineData("Host=localhost;Username=w;Password=p;Maximum Pool Size=10", 5, 5)]
    [InlineData("Host=localhost;Username=w;Password=p;Maximum Pool Size=1", 1, 0)]
    [InlineData("Host=localhost;Username=w;Password=p;Maximum Pool Size=400", 380, 20)]
    public void The_gate_leaves_part_of_the_pool_to_the_batch_writers_and_jobs(string connectionString, int limit, int reserved)
    {
        var gate = new DatabaseGate(DatabaseGate.PoolSize(connectionString));

        Assert.Equal((limit, reserved), (gate.Limit, gate.Reserved));
    }

    [Fact]
    public async Task Writers_past_the_limit_wait_until_a_slot_is_given_back()
    {
        var gate = new DatabaseGate(2);
        Assert.Equal(1, gate.Limit);
        var first = await gate.EnterAsync(CancellationToken.None);

        var second = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);

        first.Dispose();
        first.Dispose(); // a second dispose must not free a slot it does not hold
        (await second).Dispose();
        var third = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.True(third.IsCompleted);
        var fourth = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(fourth.IsCompleted);
    }
}
