using Worker.Simulator;

SimulatorApp.Build(args).Run();
