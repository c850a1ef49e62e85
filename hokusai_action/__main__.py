from hokusai_action.cli import main

if __name__ == "__main__":
    main()
