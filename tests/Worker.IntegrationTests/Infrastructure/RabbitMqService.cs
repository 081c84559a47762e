using RabbitMQ.Client;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>Restarts the local RabbitMQ service (the tests run as root, as ops/test.sh does on CI).</summary>
public static class RabbitMqService
{
    /// <summary>
    /// Stops the node (<c>rabbitmqctl shutdown</c>, which waits for it to exit), starts the service again, and waits until
    /// the test virtual host takes connections. Not <c>service rabbitmq-server restart</c>: Debian's init script stops by
    /// pid file, and when its own start gave up waiting it deletes that file, after which every later stop hangs.
    /// </summary>
    public static async Task RestartAsync()
    {
        await ShellAsync("rabbitmqctl shutdown");
        await RunAsync("start");
        await WaitUntilUpAsync();
    }

    /// <summary>Starts the service if it does not take connections (a finally block after a restart that failed half-way).</summary>
    public static async Task EnsureRunningAsync()
    {
        if (await AcceptsConnectionsAsync())
            return;
        await RunAsync("start");
        await WaitUntilUpAsync();
    }

    private static async Task WaitUntilUpAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (!await AcceptsConnectionsAsync())
            await Task.Delay(TimeSpan.FromMilliseconds(500), timeout.Token);
    }

    private static async Task<bool> AcceptsConnectionsAsync()
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(TestEnvironment.RabbitMq) }.CreateConnectionAsync();
            return true;
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static Task RunAsync(string verb) => ServiceControl.RunAsync("rabbitmq-server", verb, TimeSpan.FromMinutes(2));

    private static Task ShellAsync(string command) => ServiceControl.ShellAsync(command, TimeSpan.FromMinutes(2));
}
