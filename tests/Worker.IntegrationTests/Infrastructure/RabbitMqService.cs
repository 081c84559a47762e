using System.Diagnostics;
using RabbitMQ.Client;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// Restarts RabbitMQ: the local service (the tests run as root, as ops/test.sh does on CI), or the container when
/// <see cref="TestServices"/> chose containers.
/// </summary>
public static class RabbitMqService
{
    /// <summary><c>service rabbitmq-server restart</c> (or the container's), then waits until the test virtual host takes connections again.</summary>
    public static async Task RestartAsync()
    {
        await RunAsync("restart");
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

    private static Task WaitUntilUpAsync() =>
        Eventually.TrueAsync(AcceptsConnectionsAsync, TimeSpan.FromSeconds(90), "RabbitMQ to take connections on the test virtual host");

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

    private static async Task RunAsync(string verb)
    {
        if (TestServices.RabbitMqContainer is { } container)
        {
            // Its host port is bound statically, so the connection string stays valid across the restart.
            if (verb == "restart")
                await container.StopAsync();
            await container.StartAsync();
            return;
        }

        using var process = Process.Start(new ProcessStartInfo("service", $"rabbitmq-server {verb}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("cannot run `service`");
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"`service rabbitmq-server {verb}` exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
        }
    }
}
