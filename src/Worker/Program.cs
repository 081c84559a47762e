using Microsoft.Extensions.Options;
using Npgsql;
using Worker;
using Worker.Hosting;
using Worker.Messaging;
using Worker.Persistence;

try
{
    // Build validates every options section (OptionsValidationException) before anything connects.
    var app = WorkerApp.Build(args);
    // The worker never migrates; it refuses a database whose audit schema is older than this build (ops/migrate.sh).
    await AuditSchema.EnsureCurrentAsync(app.Services.GetRequiredService<NpgsqlDataSource>());
    // A request queue the broker holds with other arguments (type, priorities) than Messaging gives is refused here, naming the settings.
    await RequestQueue.EnsureArgumentsAsync(app.Services.GetRequiredService<RabbitMqAddress>(), app.Services.GetRequiredService<IOptions<MessagingOptions>>().Value);
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (ConfigurationProblems.Of(e) is { Count: > 0 } problems)
{
    Console.Error.WriteLine("The worker cannot start; fix the configuration:");
    foreach (var problem in problems)
    {
        Console.Error.WriteLine($"  - {problem}");
    }

    return 2;
}
